"""Handler code of the example apps: written by hand, never touched by chgen."""
