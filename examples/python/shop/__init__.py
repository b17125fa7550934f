"""A small shop whose web app offloads slow work to qraft (see ../README.md)."""
