"""The parts of a page drawn with st. (one module per page): the page script calls them in order; what they show
is built in monitor/views/ (which never calls st.)."""
