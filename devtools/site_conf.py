"""Sphinx configuration of the course site (copied as ``conf.py`` by ``devtools.site``)."""

from pathlib import Path

import jupyter_server_mathjax

project = "cnn-course"
author = "the cnn-course authors"
copyright = "2026, the cnn-course authors"
extensions = ["myst_nb"]
exclude_patterns = ["_build", "**.ipynb_checkpoints"]

# The notebooks arrive executed (lectures) or as released (assignments): never run them here.
nb_execution_mode = "off"
nb_merge_streams = True
# progress bars and library warnings: what a reader of the page needs is on stdout
nb_output_stderr = "remove"
myst_enable_extensions = ["dollarmath", "amsmath", "html_image"]
myst_heading_anchors = 3
suppress_warnings = ["myst.header", "mystnb.unknown_mime_type"]

# MathJax 2 from the jupyter-server-mathjax wheel, copied into the site: no network needed.
html_static_path = [str(Path(jupyter_server_mathjax.__file__).parent / "static")]
mathjax_path = "MathJax.js?config=TeX-AMS-MML_HTMLorMML-full"

html_theme = "sphinx_book_theme"
html_title = "Convolutional neural networks: a course"
html_theme_options = {"show_toc_level": 2, "use_download_button": False,
                      "use_fullscreen_button": False}
html_last_updated_fmt = None
html_show_sourcelink = False
html_copy_source = False
# That copy holds the STIX-Web fonts only (as in Jupyter's own configuration). MyST-NB marks
# each notebook "ignore" and its math "math": tell MathJax 2 to typeset the math inside.
mathjax2_config = {"HTML-CSS": {"availableFonts": [], "webFont": "STIX-Web", "imageFont": None},
                   "SVG": {"font": "STIX-Web"},
                   "tex2jax": {"processClass": "tex2jax_process|mathjax_process|math|output_area"}}
