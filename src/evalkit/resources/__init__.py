"""Files shipped with evalkit: the packaged county (data), fonts, locale and templates."""
