//! Orders about the race itself: messages, names, diplomacy, options, the
//! map window, claims, quitting.

use super::{OrderContext, OrderResult, check_name, ok, other_race, planet_ref};
use crate::error::OrderError;
use crate::game::{Game, Message, RaceId};

/// `@`: a message to races (everybody when `to` is empty).
pub(super) fn message(game: &mut Game, race: RaceId, to: &[String], text: &str) -> OrderResult {
    let ids = to
        .iter()
        .map(|name| {
            game.find_race(name)
                .ok_or_else(|| OrderError::UnknownRace(name.clone()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if text.trim().is_empty() {
        return Err(OrderError::InvalidValue("empty message".into()));
    }
    game.log.messages.push(Message {
        from: Some(race),
        to: if ids.is_empty() { None } else { Some(ids) },
        text: text.to_string(),
    });
    ok()
}

/// `=`: the player's real name.
pub(super) fn real_name(game: &mut Game, race: RaceId, name: &str) -> OrderResult {
    game.races[race.0].real_name = name.to_string();
    ok()
}

/// `a` (`peace`) and `w` (war): one-sided.
pub(super) fn ally(game: &mut Game, race: RaceId, other: &str, peace: bool) -> OrderResult {
    let o = other_race(game, race, other)?;
    let allies = &mut game.races[race.0].allies;
    if peace {
        allies.insert(o);
    } else {
        allies.remove(&o);
    }
    ok()
}

/// `c`: the race's displayed name, unique among races.
pub(super) fn rename_race(game: &mut Game, race: RaceId, name: &str) -> OrderResult {
    check_name(name)?;
    let taken = game.races.iter().enumerate().any(|(i, r)| {
        i != race.0 && (r.name.eq_ignore_ascii_case(name) || r.key.eq_ignore_ascii_case(name))
    });
    if taken {
        return Err(OrderError::NameTaken(format!("the name {name} is taken")));
    }
    game.races[race.0].name = name.to_string();
    ok()
}

/// `o`: turns a race option on (the default, as GalaxyNG's `o Option`) or
/// off. GalaxyNG's options that shape play or the report: AutoUnload,
/// BattleProtocol, ProdTable, SortGroups, Anonymous. Its forecast and mail
/// format options have no counterpart here and are refused.
pub(super) fn set_option(
    game: &mut Game,
    race: RaceId,
    option: &str,
    on: Option<bool>,
) -> OrderResult {
    let r = &mut game.races[race.0];
    let on = on.unwrap_or(true);
    let flag = match option.to_ascii_lowercase().replace('_', "").as_str() {
        "autounload" => &mut r.auto_unload,
        "battleprotocol" => &mut r.battle_protocol,
        "prodtable" => &mut r.prod_table,
        "sortgroups" => &mut r.sort_groups,
        "anonymous" => &mut r.anonymous,
        "groupforecast" | "planetforecast" | "shiptypeforecast" | "routesforecast" => {
            return Err(OrderError::UnknownOption(format!(
                "{option} (the engine sends no order forecast)"
            )));
        }
        "compress" | "gplus" | "machinereport" | "xmlreport" | "txtreport" => {
            return Err(OrderError::UnknownOption(format!(
                "{option} (reports are always JSON and text)"
            )));
        }
        _ => return Err(OrderError::UnknownOption(option.to_string())),
    };
    *flag = on;
    ok()
}

/// `m`: the text report's map window.
pub(super) fn map_window(game: &mut Game, race: RaceId, window: [f64; 3]) -> OrderResult {
    if !window.iter().all(|v| v.is_finite()) || window[2] <= 0.0 {
        return Err(OrderError::InvalidValue(
            "the map window needs x, y and a positive size".into(),
        ));
    }
    game.races[race.0].map_window = Some(window);
    ok()
}

/// `q`: the race quits (it stops executing further orders).
pub(super) fn quit(game: &mut Game, race: RaceId) -> OrderResult {
    game.races[race.0].dead = true;
    ok()
}

/// `y`: kept, not checked.
pub(super) fn password(game: &mut Game, race: RaceId, password: &str) -> OrderResult {
    game.races[race.0].password = password.to_string();
    ok()
}

/// `z`: kept for reports.
pub(super) fn email(game: &mut Game, race: RaceId, address: &str) -> OrderResult {
    game.races[race.0].email = address.to_string();
    ok()
}

/// `v`: claims a planet bombed this turn.
pub(super) fn claim(
    game: &mut Game,
    ctx: &mut OrderContext,
    race: RaceId,
    planet: &str,
) -> OrderResult {
    let pid = planet_ref(game, planet)?;
    ctx.claims.push((race, pid));
    ok()
}
