// CONTRACT STUB: helper `pages` moves SVGPlot and AxisScale here and deletes this file.
