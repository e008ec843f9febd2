"""The explorer: the dataset as HTML pages on the API's own URLs (see app.web.pages)."""
