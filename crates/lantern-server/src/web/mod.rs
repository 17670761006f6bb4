//! The web dashboard (issue 6, in progress): pages rendered on the server
//! from the same reports the API serves. So far: `chart`, the SVG charts
//! and the units figures are shown in.

pub mod chart;
