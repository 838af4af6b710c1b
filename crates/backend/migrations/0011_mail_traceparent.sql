-- The W3C traceparent of the request (or job) that enqueued a delivery, so
-- the worker's send continues that trace (spec §15): one trace runs from
-- the HTTP request to the SMTP call. NULL when enqueued outside any trace.
ALTER TABLE mail_deliveries ADD COLUMN traceparent text;
