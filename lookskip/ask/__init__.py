"""Ask Claude about the templates the model does not know (``classify --ask-claude``).

``survey`` groups the inputs' lines into templates and values them for asking;
``requests`` builds what is sent; ``run`` chooses within a budget, sends (Batch API,
or the Messages API with ``--now``) and files the answers in the ``store``; ``learn``
refits the model on base rows + labels + answers. See docs/ask-claude.md.
"""
