"""Standalone HTML pages: an explorer that needs no kernel and no network (bokeh).

``data`` bins spectra and lays out the columns, ``layout`` builds the bokeh document and its
callbacks (``page.js``). :func:`campfire.Campfire.export_html` gathers the objects.
"""

from campfire.views.htmlpage.data import MAX_BINS, PageObject, bin_spectrum
from campfire.views.htmlpage.layout import page_html

__all__ = ["MAX_BINS", "PageObject", "bin_spectrum", "page_html"]
