"""Helpers for the pages that belong to no domain: SVG charts (`charts`) and the panels one app
adds to another's pages (`panels`). Both apps use them; they import neither app."""
