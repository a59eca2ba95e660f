"""The anywidget classes of the explorer, one module per widget (public path: ``campfire.widgets``).

Each Python class here pairs with an ES module and a stylesheet in the top-level ``widgets/``
folder (found by :mod:`campfire.views.widgets._assets`); :mod:`campfire.views.widgets._base`
holds what they share.
"""
