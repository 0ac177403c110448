"""Contentstack Personalize's dialect: the Edge API its edge SDK calls."""
