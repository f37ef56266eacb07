EXTRA_DIST += schemas/state-image.md
