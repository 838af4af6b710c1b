//! Ship types and technology: the derived figures of a design (mass, speed,
//! cargo capacity, attack, defence) and the design validation rules.

use crate::error::OrderError;
use serde::{Deserialize, Serialize};

/// 30^(1/3), the battle constant.
pub const BATTLEMAGIC: f64 = 3.107232506;
/// Speed factor.
pub const DRIVEMAGIC: f64 = 20.0;
/// Largest component mass a design may have (keeps every figure finite).
pub const MAX_COMPONENT: f64 = 1.0e6;

/// The four technology levels (of a race, or carried by a group's ships).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Tech {
    /// Drive.
    pub drive: f64,
    /// Weapons.
    pub weapons: f64,
    /// Shields.
    pub shields: f64,
    /// Cargo.
    pub cargo: f64,
}

impl Tech {
    /// Starting techs: 1 each.
    pub const START: Tech = Tech {
        drive: 1.0,
        weapons: 1.0,
        shields: 1.0,
        cargo: 1.0,
    };
}

/// Rounds to two decimals.
pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// A ship design.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShipType {
    /// Name, unique among the race's types and fleets.
    pub name: String,
    /// Drive mass.
    pub drive: f64,
    /// Number of guns.
    pub attacks: u32,
    /// Mass of one gun.
    pub weapons: f64,
    /// Shield mass.
    pub shields: f64,
    /// Cargo mass.
    pub cargo: f64,
}

impl ShipType {
    /// Builds a type from the `d` order's numbers, applying the rules'
    /// corrections. Returns the type and warnings, or an error reason.
    pub fn design(
        name: &str,
        drive: f64,
        attacks: u32,
        weapons: f64,
        shields: f64,
        cargo: f64,
    ) -> Result<(ShipType, Vec<String>), OrderError> {
        let mut warnings = Vec::new();
        for (what, v) in [
            ("drive", drive),
            ("weapons", weapons),
            ("shields", shields),
            ("cargo", cargo),
        ] {
            if !v.is_finite() || v < 0.0 {
                return Err(OrderError::InvalidValue(format!(
                    "{what} mass must be a non-negative number"
                )));
            }
            if v > MAX_COMPONENT {
                return Err(OrderError::InvalidValue(format!(
                    "{what} mass above {MAX_COMPONENT}"
                )));
            }
        }
        if attacks as f64 > MAX_COMPONENT {
            return Err(OrderError::InvalidValue(format!(
                "more than {MAX_COMPONENT} attacks"
            )));
        }
        let drive = if drive < 1.0 { 0.0 } else { drive };
        let mut attacks = attacks;
        let mut weapons = weapons;
        if attacks > 0 && weapons < 1.0 {
            warnings.push("weapons below 1: the type gets no attacks".to_string());
            attacks = 0;
        }
        if attacks == 0 {
            weapons = 0.0;
        }
        let mut shields = shields;
        if shields > 0.0 && shields < 1.0 {
            warnings.push("shields between 0 and 1 count as 0".to_string());
            shields = 0.0;
        }
        let mut cargo = cargo;
        if cargo > 0.0 && cargo < 1.0 {
            warnings.push("cargo between 0 and 1 counts as 0".to_string());
            cargo = 0.0;
        }
        if drive == 0.0 && attacks == 0 && shields == 0.0 && cargo == 0.0 {
            return Err(OrderError::InvalidValue(
                "a ship type needs at least one non-zero component".into(),
            ));
        }
        Ok((
            ShipType {
                name: name.to_string(),
                drive,
                attacks,
                weapons,
                shields,
                cargo,
            },
            warnings,
        ))
    }

    /// Weapon mass `wm`: the first gun full, every further gun half.
    pub fn weapon_mass(&self) -> f64 {
        let a = self.attacks as f64;
        let first = if self.attacks > 0 { self.weapons } else { 0.0 };
        let rest = if self.attacks > 1 {
            (a - 1.0) * self.weapons / 2.0
        } else {
            0.0
        };
        first + rest
    }

    /// Type mass `D + wm + S + C`.
    pub fn mass(&self) -> f64 {
        self.drive + self.weapon_mass() + self.shields + self.cargo
    }

    /// The mass production pays for (⚠ `tm − 0.01` above 49.5).
    pub fn cost_mass(&self) -> f64 {
        let tm = self.mass();
        if tm > 49.5 { tm - 0.01 } else { tm }
    }

    /// Whether the type can fight.
    pub fn armed(&self) -> bool {
        self.attacks > 0 && self.weapons > 0.0
    }

    /// Cargo capacity per ship at cargo tech `ct`.
    pub fn capacity(&self, ct: f64) -> f64 {
        ct * self.cargo * (1.0 + self.cargo / 10.0)
    }

    /// Mass of one ship carrying `load` at cargo tech `ct`.
    pub fn ship_mass(&self, load: f64, ct: f64) -> f64 {
        let carried = if load > 0.0 && ct > 0.0 {
            load / ct
        } else {
            0.0
        };
        self.mass() + carried
    }

    /// Speed of one ship: `20·dt·D / shipmass`.
    pub fn speed(&self, tech: &Tech, load: f64) -> f64 {
        let m = self.ship_mass(load, tech.cargo);
        if m <= 0.0 {
            0.0
        } else {
            DRIVEMAGIC * tech.drive * self.drive / m
        }
    }

    /// Attack of one gun: `W·wt`.
    pub fn attack(&self, tech: &Tech) -> f64 {
        if self.armed() {
            self.weapons * tech.weapons
        } else {
            0.0
        }
    }

    /// Defence: `S·st·30^(1/3) / shipmass^(1/3)`.
    pub fn defence(&self, tech: &Tech, load: f64) -> f64 {
        let m = self.ship_mass(load, tech.cargo);
        if m <= 0.0 {
            0.0
        } else {
            self.shields * tech.shields * BATTLEMAGIC / m.cbrt()
        }
    }

    /// Techs carried by new ships: the race's techs rounded to 2 decimals,
    /// 0 for components of zero mass.
    pub fn build_tech(&self, race: &Tech) -> Tech {
        Tech {
            drive: if self.drive > 0.0 {
                round2(race.drive)
            } else {
                0.0
            },
            weapons: if self.weapon_mass() > 0.0 {
                round2(race.weapons)
            } else {
                0.0
            },
            shields: if self.shields > 0.0 {
                round2(race.shields)
            } else {
                0.0
            },
            cargo: if self.cargo > 0.0 {
                round2(race.cargo)
            } else {
                0.0
            },
        }
    }

    /// Upgrade cost per ship: `10·Σ(1 − shipTech/raceTech)·mass_i` (⚠ the
    /// weapons term uses `wm`).
    pub fn upgrade_cost(&self, ship: &Tech, race: &Tech) -> f64 {
        let term = |mass: f64, st: f64, rt: f64| {
            if mass > 0.0 && rt > 0.0 && st < rt {
                (1.0 - st / rt) * mass
            } else {
                0.0
            }
        };
        10.0 * (term(self.drive, ship.drive, race.drive)
            + term(self.weapon_mass(), ship.weapons, race.weapons)
            + term(self.shields, ship.shields, race.shields)
            + term(self.cargo, ship.cargo, race.cargo))
    }
}

/// Kill probability of one shot: `clamp((log₄(attack/defence) + 1)/2, 0, 1)`.
pub fn p_kill(attack: f64, defence: f64) -> f64 {
    if defence <= 0.0 {
        return 1.0;
    }
    if attack <= 0.0 {
        return 0.0;
    }
    (((attack / defence).ln() / 4f64.ln() + 1.0) / 2.0).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(d: f64, a: u32, w: f64, s: f64, c: f64) -> ShipType {
        ShipType::design("T", d, a, w, s, c).unwrap().0
    }
    fn tech(d: f64, w: f64, s: f64, c: f64) -> Tech {
        Tech {
            drive: d,
            weapons: w,
            shields: s,
            cargo: c,
        }
    }
    fn r2(x: f64) -> f64 {
        round2(x)
    }

    #[test]
    fn example_1_drone() {
        let d = t(1.0, 0, 0.0, 0.0, 0.0);
        assert_eq!(d.mass(), 1.0);
        assert_eq!(r2(d.speed(&tech(1.0, 0.0, 0.0, 0.0), 0.0)), 20.0);
        assert_eq!(r2(d.speed(&tech(2.0, 0.0, 0.0, 0.0), 0.0)), 40.0);
        // 10 production and 1 MAT per unit of mass.
        assert_eq!(d.cost_mass() * 10.0, 10.0);
        assert_eq!(d.cost_mass(), 1.0);
    }

    #[test]
    fn example_2_gunship() {
        let g = t(4.0, 2, 2.0, 4.0, 0.0);
        let one = Tech::START;
        assert_eq!(g.weapon_mass(), 3.0);
        assert_eq!(g.mass(), 11.0);
        assert_eq!(r2(g.speed(&one, 0.0)), 7.27);
        assert_eq!(r2(g.defence(&one, 0.0)), 5.59);
        assert_eq!(g.attack(&one), 2.0);
    }

    #[test]
    fn example_3_masses_speeds_defences() {
        let one = Tech::START;
        let a = t(33.0, 29, 2.0, 35.0, 1.0);
        assert_eq!(a.mass(), 99.0);
        assert_eq!(r2(a.speed(&one, 0.0)), 6.67);
        assert_eq!(r2(a.defence(&one, 0.0)), 23.51);
        let b = t(1.0, 0, 0.0, 2.0, 0.0);
        assert_eq!(b.mass(), 3.0);
        assert_eq!(r2(b.speed(&one, 0.0)), 6.67);
        assert_eq!(r2(b.defence(&one, 0.0)), 4.31);
        let c = t(1.0, 1, 5.0, 3.0, 0.0);
        assert_eq!(c.mass(), 9.0);
        assert_eq!(r2(c.speed(&one, 0.0)), 2.22);
        assert_eq!(r2(c.defence(&one, 0.0)), 4.48);
    }

    #[test]
    fn example_4_freighter() {
        let f = t(30.0, 0, 0.0, 9.5, 10.0);
        assert_eq!(f.mass(), 49.5);
        assert_eq!(r2(f.speed(&Tech::START, 0.0)), 12.12);
        assert_eq!(f.capacity(1.0), 20.0);
        assert_eq!(f.capacity(3.0), 60.0);
        let t3 = tech(1.0, 1.0, 1.0, 3.0);
        assert_eq!(r2(f.speed(&t3, 60.0)), 8.63);
        assert_eq!(r2(f.speed(&t3, 35.0)), 9.81);
    }

    #[test]
    fn example_5_p_kill() {
        assert_eq!(r2(p_kill(10.0, 10.0)), 0.50);
        assert_eq!(r2(p_kill(10.0, 5.0)), 0.75);
        assert_eq!(r2(p_kill(10.0, 2.5)), 1.0);
        assert_eq!(p_kill(1.0, 0.0), 1.0);
    }

    #[test]
    fn design_rules_correct_small_components() {
        assert!(ShipType::design("X", 1.0e7, 0, 0.0, 0.0, 0.0).is_err());
        let (s, w) = ShipType::design("X", 0.5, 3, 0.5, 0.5, 2.0).unwrap();
        assert_eq!(
            (s.drive, s.attacks, s.weapons, s.shields, s.cargo),
            (0.0, 0, 0.0, 0.0, 2.0)
        );
        assert_eq!(w.len(), 2);
        assert!(ShipType::design("X", 0.0, 0, 0.0, 0.0, 0.0).is_err());
        assert!(ShipType::design("X", -1.0, 0, 0.0, 0.0, 1.0).is_err());
    }

    #[test]
    fn cost_mass_fudge_above_49_5() {
        assert_eq!(t(49.5, 0, 0.0, 0.0, 0.0).cost_mass(), 49.5);
        assert!((t(50.0, 0, 0.0, 0.0, 0.0).cost_mass() - 49.99).abs() < 1e-9);
    }

    #[test]
    fn upgrade_cost_uses_weapon_mass() {
        let g = t(4.0, 2, 2.0, 4.0, 0.0);
        let ship = tech(1.0, 1.0, 1.0, 0.0);
        let race = tech(2.0, 2.0, 1.0, 1.0);
        // 10·(0.5·4 + 0.5·3) = 35
        assert!((g.upgrade_cost(&ship, &race) - 35.0).abs() < 1e-9);
    }
}
