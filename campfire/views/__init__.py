"""Views: what users look at. Nothing here talks HTTP or writes to the catalog.

* :mod:`campfire.views.cards`: the ``_repr_html_`` cards of the models.
* :mod:`campfire.views.imaging`: cutouts with MSA shutters drawn on them (``campfire.imaging``).
* :mod:`campfire.views.plotting`: Plotly figures and matplotlib quick looks.
* :mod:`campfire.views.widgets`: the anywidget explorer (``campfire.widgets``).
"""
