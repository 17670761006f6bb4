//! The web dashboard (issue 6, in progress): pages rendered on the server
//! from the same reports the API serves. So far, no page is served: `chart`
//! writes the SVG charts and the units figures are shown in; `overview` is
//! the organisation page's content (alphabetical rows and a distribution
//! of bands, never a ranking).

pub mod chart;
pub mod overview;
