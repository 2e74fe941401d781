"""Chromatic Charm: colourise black-and-white photos with pix2pix in CIE L*a*b*."""

__version__ = "0.1.0"
