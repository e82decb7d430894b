def render_define_html(tree, path, *, xpt_href=None):
    raise NotImplementedError
