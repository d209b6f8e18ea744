"""Files the service serves as they are: the API reference pages' pinned JavaScript and CSS."""
