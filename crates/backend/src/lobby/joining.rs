//! Getting into and out of games: applications (public games, and private
//! games that take them), invites (private games), and memberships (leave,
//! remove, block). Every path that makes a member goes through
//! [`LobbyService::join_locked`] with the game row locked, so two requests
//! for the last slot or the same race name have exactly one winner.

use chrono::Utc;
use serde_json::json;

use crate::audit;
use crate::ids::{ApplicationId, GameId, InviteId, UserId};

use super::error::LobbyError;
use super::model::{
    self, Actor, Application, ApplicationStatus, Game, GameStatus, Invite, InviteStatus, Member,
    MemberStatus, Owner, Visibility,
};
use super::race_name::RaceName;
use super::service::{LobbyService, Work, action, after, require};
use super::store::{self, RuntimeRequestKind};

/// Maps a unique violation by constraint name; any other error passes.
fn on_conflict(err: sqlx::Error, constraint: &str, mapped: LobbyError) -> LobbyError {
    if crate::postgres::unique_violation(&err) == Some(constraint) {
        mapped
    } else {
        LobbyError::Database(err)
    }
}

/// Statuses in which members are admitted.
const ADMITTING: &[GameStatus] = &[GameStatus::EnrollmentOpen];

impl LobbyService {
    /// Applies to a game with a race name. With `auto_approve` the
    /// application is approved at once.
    #[tracing::instrument(name = "lobby.apply", skip_all, fields(game_id = %game_id))]
    pub async fn apply(
        &self,
        user_id: UserId,
        game_id: GameId,
        race_name: &str,
    ) -> Result<Application, LobbyError> {
        let race = RaceName::parse(race_name)?;
        let mut work = self.begin().await?;
        let game = self.lock(&mut work, game_id).await?;
        if game.visibility == Visibility::Private && !game.is_owned_by(user_id) {
            let known = store::get_member(work.conn(), game_id, user_id)
                .await?
                .is_some()
                || store::was_invited(work.conn(), game_id, user_id).await?;
            if !known && !game.accepts_applications {
                return Err(LobbyError::NotFound("game"));
            }
        }
        if !game.accepts_applications {
            return Err(LobbyError::ApplicationsClosed);
        }
        require(game.status, ADMITTING, "enrollment_open")?;
        self.check_admissible(&mut work, &game, user_id).await?;
        self.take_race_name(&mut work, user_id, &race).await?;
        let id = ApplicationId::new_ordered();
        let application =
            store::insert_application(work.conn(), id, game_id, user_id, race.as_str(), race.key())
                .await
                .map_err(|e| {
                    on_conflict(
                        e,
                        store::PENDING_APPLICATION_KEY,
                        LobbyError::ApplicationExists,
                    )
                })?;
        if let Owner::User(owner) = game.owner {
            self.notify(
                &mut work,
                "lobby.application.submitted",
                format!("application-submitted:{id}"),
                owner,
                json!({ "game_id": game_id, "application_id": id }),
            )
            .await?;
        }
        let application = if game.auto_approve {
            self.approve_locked(&mut work, &game, application).await?
        } else {
            application
        };
        self.commit(work).await?;
        tracing::info!(game_id = %game_id, application_id = %id, "application submitted");
        Ok(application)
    }

    /// Withdraws the caller's pending application.
    pub async fn withdraw(
        &self,
        user_id: UserId,
        game_id: GameId,
        id: ApplicationId,
    ) -> Result<Application, LobbyError> {
        let mut work = self.begin().await?;
        self.lock(&mut work, game_id).await?;
        let application = self.pending_application(&mut work, game_id, id).await?;
        if application.user_id != user_id {
            return Err(LobbyError::NotFound("application"));
        }
        let application =
            store::decide_application(work.conn(), id, ApplicationStatus::Withdrawn, None).await?;
        self.commit(work).await?;
        Ok(application)
    }

    /// Approves a pending application (owner or admin): the applicant
    /// becomes a member.
    #[tracing::instrument(name = "lobby.approve", skip_all, fields(game_id = %game_id))]
    pub async fn approve(
        &self,
        actor: &Actor,
        game_id: GameId,
        id: ApplicationId,
    ) -> Result<Application, LobbyError> {
        let mut work = self.begin().await?;
        let game = self.lock(&mut work, game_id).await?;
        Self::authorize_owner(actor, &game)?;
        let application = self.pending_application(&mut work, game_id, id).await?;
        require(
            game.status,
            &[GameStatus::EnrollmentOpen, GameStatus::EnrollmentClosed],
            "enrollment_open or enrollment_closed",
        )?;
        let application = self.approve_locked(&mut work, &game, application).await?;
        if let Actor::Admin(admin) = actor {
            let details = json!({ "application_id": id, "user_id": application.user_id });
            audit::record(
                work.conn(),
                admin,
                action::APPROVE,
                &game_id.to_string(),
                details,
            )
            .await?;
        }
        self.commit(work).await?;
        Ok(application)
    }

    async fn approve_locked(
        &self,
        work: &mut Work,
        game: &Game,
        application: Application,
    ) -> Result<Application, LobbyError> {
        let race = RaceName::parse(&application.race_name)?;
        self.join_locked(work, game, application.user_id, &race)
            .await?;
        let id = application.application_id;
        let approved =
            store::decide_application(work.conn(), id, ApplicationStatus::Approved, None).await?;
        self.notify(
            work,
            "lobby.application.approved",
            format!("application-approved:{id}"),
            application.user_id,
            json!({ "game_id": game.game_id }),
        )
        .await?;
        Ok(approved)
    }

    /// Rejects a pending application with a reason (owner or admin).
    pub async fn reject(
        &self,
        actor: &Actor,
        game_id: GameId,
        id: ApplicationId,
        reason: &str,
    ) -> Result<Application, LobbyError> {
        let reason = model::reason(reason)?;
        let mut work = self.begin().await?;
        let game = self.lock(&mut work, game_id).await?;
        Self::authorize_owner(actor, &game)?;
        let application = self.pending_application(&mut work, game_id, id).await?;
        let rejected =
            store::decide_application(work.conn(), id, ApplicationStatus::Rejected, Some(&reason))
                .await?;
        self.notify(
            &mut work,
            "lobby.application.rejected",
            format!("application-rejected:{id}"),
            application.user_id,
            json!({ "game_id": game_id, "reason": reason }),
        )
        .await?;
        if let Actor::Admin(admin) = actor {
            let details =
                json!({ "application_id": id, "user_id": application.user_id, "reason": reason });
            audit::record(
                work.conn(),
                admin,
                action::REJECT,
                &game_id.to_string(),
                details,
            )
            .await?;
        }
        self.commit(work).await?;
        Ok(rejected)
    }

    async fn pending_application(
        &self,
        work: &mut Work,
        game_id: GameId,
        id: ApplicationId,
    ) -> Result<Application, LobbyError> {
        let application = store::lock_application(work.conn(), game_id, id)
            .await?
            .ok_or(LobbyError::NotFound("application"))?;
        if application.status != ApplicationStatus::Pending {
            return Err(LobbyError::InvalidApplicationState {
                current: application.status,
            });
        }
        Ok(application)
    }

    /// Invites a user (by user name) to a private game the caller owns.
    #[tracing::instrument(name = "lobby.invite", skip_all, fields(game_id = %game_id))]
    pub async fn invite(
        &self,
        owner: UserId,
        game_id: GameId,
        user_name: &str,
        expires_at: Option<chrono::DateTime<Utc>>,
    ) -> Result<Invite, LobbyError> {
        let now = Utc::now();
        let expires_at =
            expires_at.unwrap_or_else(|| after(now, self.settings().invite_default_ttl));
        if expires_at <= now {
            return Err(LobbyError::InvalidInvite {
                field: "expires_at",
                message: "an invite must expire in the future".into(),
            });
        }
        // A string no user name can be (a NUL, say) names nobody.
        if crate::user::UserName::parse(user_name).is_err() {
            return Err(LobbyError::NotFound("user"));
        }
        let invitee = match self.users().find_by_user_name(user_name).await {
            Ok(record) if !record.is_deleted() => record.account.user_id,
            Ok(_) | Err(crate::user::UserError::NotFound(_)) => {
                return Err(LobbyError::NotFound("user"));
            }
            Err(err) => return Err(err.into()),
        };
        let mut work = self.begin().await?;
        let game = self.lock(&mut work, game_id).await?;
        self.owner_of_private(&game, owner)?;
        if invitee == owner {
            return Err(LobbyError::InvalidInvite {
                field: "user_name",
                message: "you cannot invite yourself".into(),
            });
        }
        require(
            game.status,
            &[GameStatus::Draft, GameStatus::EnrollmentOpen],
            "draft or enrollment_open",
        )?;
        if let Some(m) = store::get_member(work.conn(), game_id, invitee).await?
            && m.status == MemberStatus::Active
        {
            return Err(LobbyError::AlreadyMember);
        }
        let id = InviteId::new_ordered();
        let invite = store::insert_invite(work.conn(), id, game_id, owner, invitee, expires_at)
            .await
            .map_err(|e| on_conflict(e, store::PENDING_INVITE_KEY, LobbyError::InviteExists))?;
        self.notify(
            &mut work,
            "lobby.invite.received",
            format!("invite-received:{id}"),
            invitee,
            // The stored instant (microseconds), as the invite itself shows it.
            json!({ "game_id": game_id, "inviter_user_id": owner, "expires_at": invite.expires_at }),
        )
        .await?;
        self.commit(work).await?;
        Ok(invite)
    }

    /// Refuses anyone but the owning user of a private game (a game the
    /// caller cannot see is `NotFound`).
    fn owner_of_private(&self, game: &Game, user_id: UserId) -> Result<(), LobbyError> {
        if game.is_owned_by(user_id) {
            Ok(())
        } else if game.visibility == Visibility::Public {
            Err(LobbyError::NotGameOwner)
        } else {
            Err(LobbyError::NotFound("game"))
        }
    }

    /// Revokes a pending invite (the owner).
    pub async fn revoke_invite(
        &self,
        owner: UserId,
        game_id: GameId,
        id: InviteId,
    ) -> Result<Invite, LobbyError> {
        let mut work = self.begin().await?;
        let game = self.lock(&mut work, game_id).await?;
        self.owner_of_private(&game, owner)?;
        let invite = self.pending_invite(&mut work, id).await?;
        if invite.game_id != game_id {
            return Err(LobbyError::NotFound("invite"));
        }
        let invite = store::decide_invite(work.conn(), id, InviteStatus::Revoked).await?;
        self.notify(
            &mut work,
            "lobby.invite.revoked",
            format!("invite-revoked:{id}"),
            invite.invitee_user_id,
            json!({ "game_id": game_id }),
        )
        .await?;
        self.commit(work).await?;
        Ok(invite)
    }

    /// Accepts an invite with a race name: the invitee becomes a member.
    #[tracing::instrument(name = "lobby.accept_invite", skip_all)]
    pub async fn accept_invite(
        &self,
        user_id: UserId,
        id: InviteId,
        race_name: &str,
    ) -> Result<Member, LobbyError> {
        let race = RaceName::parse(race_name)?;
        let game_id = self.invite_for(user_id, id).await?.game_id;
        let mut work = self.begin().await?;
        // The game first, then the invite: the order every writer takes.
        let game = self.lock(&mut work, game_id).await?;
        let invite = self.pending_invite(&mut work, id).await?;
        if invite.is_expired_at(Utc::now()) {
            return Err(LobbyError::InviteExpired {
                expires_at: invite.expires_at,
            });
        }
        require(game.status, ADMITTING, "enrollment_open")?;
        let member = self.join_locked(&mut work, &game, user_id, &race).await?;
        store::decide_invite(work.conn(), id, InviteStatus::Accepted).await?;
        self.commit(work).await?;
        tracing::info!(game_id = %game_id, invite_id = %id, "invite accepted");
        Ok(member)
    }

    /// Declines an invite.
    pub async fn decline_invite(
        &self,
        user_id: UserId,
        id: InviteId,
    ) -> Result<Invite, LobbyError> {
        let game_id = self.invite_for(user_id, id).await?.game_id;
        let mut work = self.begin().await?;
        self.lock(&mut work, game_id).await?;
        self.pending_invite(&mut work, id).await?;
        let invite = store::decide_invite(work.conn(), id, InviteStatus::Declined).await?;
        self.commit(work).await?;
        Ok(invite)
    }

    /// The invite if it is addressed to `user_id` (else `NotFound`).
    async fn invite_for(&self, user_id: UserId, id: InviteId) -> Result<Invite, LobbyError> {
        let mut conn = self.pool().acquire().await?;
        store::get_invite(&mut conn, id)
            .await?
            .filter(|i| i.invitee_user_id == user_id)
            .ok_or(LobbyError::NotFound("invite"))
    }

    async fn pending_invite(&self, work: &mut Work, id: InviteId) -> Result<Invite, LobbyError> {
        let invite = store::lock_invite(work.conn(), id)
            .await?
            .ok_or(LobbyError::NotFound("invite"))?;
        if invite.status != InviteStatus::Pending {
            return Err(LobbyError::InvalidInviteState {
                current: invite.status,
            });
        }
        Ok(invite)
    }

    /// Leaves a game before it starts.
    pub async fn leave(&self, user_id: UserId, game_id: GameId) -> Result<Member, LobbyError> {
        let mut work = self.begin().await?;
        let game = self.lock(&mut work, game_id).await?;
        let member = store::get_member(work.conn(), game_id, user_id)
            .await?
            .filter(|m| m.status == MemberStatus::Active)
            .ok_or(LobbyError::NotAMember)?;
        require(
            game.status,
            &[
                GameStatus::Draft,
                GameStatus::EnrollmentOpen,
                GameStatus::EnrollmentClosed,
            ],
            "not yet starting",
        )?;
        let left = store::end_membership(
            work.conn(),
            game_id,
            member.user_id,
            MemberStatus::Left,
            None,
        )
        .await?;
        store::touch_game(work.conn(), game_id).await?;
        self.commit(work).await?;
        Ok(left)
    }

    /// Removes (`block = false`, with a reason) or blocks a member (owner
    /// or admin). A blocked user cannot join again. In a running or
    /// paused game the race is banished through a runtime request.
    #[tracing::instrument(name = "lobby.remove_member", skip_all, fields(game_id = %game_id))]
    pub async fn remove_member(
        &self,
        actor: &Actor,
        game_id: GameId,
        user_id: UserId,
        block: bool,
        reason: Option<&str>,
    ) -> Result<Member, LobbyError> {
        let reason = reason.map(model::reason).transpose()?;
        let mut work = self.begin().await?;
        let game = self.lock(&mut work, game_id).await?;
        Self::authorize_owner(actor, &game)?;
        if game.status.is_terminal() {
            return Err(LobbyError::state(game.status, "not finished or cancelled"));
        }
        let member = store::get_member(work.conn(), game_id, user_id)
            .await?
            .ok_or(LobbyError::NotFound("member"))?;
        let was_active = member.status == MemberStatus::Active;
        // Blocking also applies to a past member (so they cannot rejoin).
        let applies = was_active || (block && member.status != MemberStatus::Blocked);
        if !applies {
            return Err(LobbyError::NotAMember);
        }
        let status = if block {
            MemberStatus::Blocked
        } else {
            MemberStatus::Removed
        };
        let ended =
            store::end_membership(work.conn(), game_id, user_id, status, reason.as_deref()).await?;
        store::touch_game(work.conn(), game_id).await?;
        if was_active && game.status.is_in_play() {
            store::request_runtime(
                work.conn(),
                game_id,
                RuntimeRequestKind::Banish,
                Some((user_id, &member.race_name)),
                reason.as_deref(),
            )
            .await?;
        }
        let stamp = ended.ended_at.unwrap_or_else(Utc::now).timestamp_micros();
        if block {
            self.notify(
                &mut work,
                "lobby.membership.blocked",
                format!("membership-blocked:{game_id}:{user_id}"),
                user_id,
                json!({ "game_id": game_id, "reason": reason }),
            )
            .await?;
        } else {
            let reason = reason
                .clone()
                .unwrap_or_else(|| "removed by the game's owner".into());
            self.notify(
                &mut work,
                "lobby.membership.removed",
                format!("membership-removed:{game_id}:{user_id}:{stamp}"),
                user_id,
                json!({ "game_id": game_id, "reason": reason }),
            )
            .await?;
        }
        if let Actor::Admin(admin) = actor {
            let verb = if block {
                action::BAN_MEMBER
            } else {
                action::REMOVE_MEMBER
            };
            let details = json!({ "user_id": user_id, "reason": reason, "banished": was_active && game.status.is_in_play() });
            audit::record(work.conn(), admin, verb, &game_id.to_string(), details).await?;
        }
        self.commit(work).await?;
        Ok(ended)
    }

    /// Checks a would-be member: not already in, not blocked, not banned,
    /// under their game limit, and a slot free. The game must be locked.
    async fn check_admissible(
        &self,
        work: &mut Work,
        game: &Game,
        user_id: UserId,
    ) -> Result<(), LobbyError> {
        if let Some(m) = store::get_member(work.conn(), game.game_id, user_id).await? {
            match m.status {
                MemberStatus::Active => return Err(LobbyError::AlreadyMember),
                MemberStatus::Blocked => return Err(LobbyError::BlockedFromGame),
                MemberStatus::Left | MemberStatus::Removed => {}
            }
        }
        if !game.is_owned_by(user_id) {
            self.check_may_join(work.conn(), user_id).await?;
        } else if let Some(ban) = self.users().active_game_join_ban(user_id) {
            return Err(LobbyError::GameJoinBanned {
                expires_at: ban.expires_at,
            });
        }
        let have = store::count_active_members(work.conn(), game.game_id).await?;
        if have >= i64::from(game.max_races) {
            return Err(LobbyError::GameFull {
                max: game.max_races,
            });
        }
        Ok(())
    }

    /// Makes `user_id` a member with `race` (the game locked): every check
    /// of [`check_admissible`](Self::check_admissible), the race name held
    /// for them in the directory, and unique among the game's races.
    pub(super) async fn join_locked(
        &self,
        work: &mut Work,
        game: &Game,
        user_id: UserId,
        race: &RaceName,
    ) -> Result<Member, LobbyError> {
        self.check_admissible(work, game, user_id).await?;
        self.take_race_name(work, user_id, race).await?;
        let member = store::join(
            work.conn(),
            game.game_id,
            user_id,
            race.as_str(),
            race.key(),
        )
        .await
        .map_err(|e| on_conflict(e, store::ACTIVE_RACE_KEY, LobbyError::RaceNameTaken))?;
        store::touch_game(work.conn(), game.game_id).await?;
        Ok(member)
    }
}
