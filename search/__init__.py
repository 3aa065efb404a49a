"""What the web search page makes of what people type, in plain Python (no DaCHS): times as ISO
date-times, MJDs or mission elapsed time (times.py), and target names resolved to positions
(targets.py). dachs_ext/search_form.py puts them into the form's SQL."""
