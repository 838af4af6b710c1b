//! Planet economics: growth, `convertcap` and production points.

use crate::game::Planet;

/// Population growth per turn.
#[cfg(not(feature = "rules-variant"))]
pub const POPINC: f64 = 0.08;
/// Population growth per turn, changed by the test-only `rules-variant`
/// feature so that such a build plays differently (see Cargo.toml).
#[cfg(feature = "rules-variant")]
pub const POPINC: f64 = 0.10;
/// Population per colonist unit.
pub const POPPERCOL: f64 = 8.0;

/// Production points `ind·0.75 + pop·0.25 − spent + inprogress`.
pub fn production_points(p: &Planet) -> f64 {
    p.ind * 0.75 + p.pop * 0.25 - p.spent + p.inprogress
}

/// Production available for upgrades: `ind·0.75 + pop·0.25 − spent`.
pub fn upgrade_points(p: &Planet) -> f64 {
    p.ind * 0.75 + p.pop * 0.25 - p.spent
}

/// Reported effective industry `ind + (pop − ind)/4`.
pub fn effective_industry(p: &Planet) -> f64 {
    p.ind + (p.pop - p.ind) / 4.0
}

/// Moves capital into industry: `d = min(pop − ind, cap)`.
pub fn convertcap(p: &mut Planet) {
    let d = (p.pop - p.ind).min(p.cap).max(0.0);
    p.cap -= d;
    p.ind += d;
}

/// One turn of growth on an owned planet, then `convertcap`.
pub fn grow(p: &mut Planet) {
    let inc = p.pop * POPINC;
    let room = (p.size - p.pop).min(inc).max(0.0);
    p.pop += room;
    p.col += (inc - room) / POPPERCOL;
    convertcap(p);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planet(pop: f64, ind: f64) -> Planet {
        let mut p = Planet::new("1".into(), 0.0, 0.0, 1000.0, 10.0);
        p.pop = pop;
        p.ind = ind;
        p
    }

    #[test]
    fn example_6_production_points() {
        assert_eq!(production_points(&planet(500.0, 250.0)), 312.5);
        assert_eq!(production_points(&planet(500.0, 0.0)), 125.0);
    }

    #[test]
    fn growth_overflows_into_colonists() {
        let mut p = planet(1000.0, 1000.0);
        grow(&mut p);
        assert_eq!(p.pop, 1000.0);
        assert!((p.col - 10.0).abs() < 1e-9);
        let mut q = planet(100.0, 50.0);
        q.cap = 100.0;
        grow(&mut q);
        assert!((q.pop - 108.0).abs() < 1e-9);
        assert!((q.ind - 108.0).abs() < 1e-9);
        assert!((q.cap - 42.0).abs() < 1e-9);
    }
}
