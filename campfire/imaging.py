"""Image cutouts with NIRSpec MSA shutter footprints drawn on them, and DS9 regions.

The public path of :mod:`campfire.views.imaging`, where the code lives.

Examples
--------
>>> from campfire.imaging import plot_cutout  # doctest: +SKIP
>>> fig = plot_cutout(cf.get_cutout(obj_id), cf.get_shutters(obj_id))  # doctest: +SKIP
"""

from campfire.views.imaging import (
    DEFAULT_SHUTTER_STYLE,
    SHUTTER_HEIGHT_ARCSEC,
    SHUTTER_WIDTH_ARCSEC,
    plot_cutout,
    shutter_corners,
    shutter_footprints,
    shutters_to_regions,
    sky_offsets,
)

__all__ = [
    "DEFAULT_SHUTTER_STYLE",
    "SHUTTER_HEIGHT_ARCSEC",
    "SHUTTER_WIDTH_ARCSEC",
    "plot_cutout",
    "shutter_corners",
    "shutter_footprints",
    "shutters_to_regions",
    "sky_offsets",
]
