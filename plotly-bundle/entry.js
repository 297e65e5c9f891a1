'use strict';
// Every trace type the app's display-only figures draw (viz/ uses go.Heatmap, go.Scatter, go.Bar); the core brings
// scatter and the components the figures use (sliders, buttons, colour bars, the mode bar).
var Plotly = require('plotly.js/lib/core');
Plotly.register([require('plotly.js/lib/heatmap'), require('plotly.js/lib/bar')]);
module.exports = Plotly;
