"""Renderers: the IR in, source text out. No disk access."""
