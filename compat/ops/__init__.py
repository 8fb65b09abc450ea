"""The functional vocabulary of compat: every operation as ``compat.X(tensor, ...)``.

``dispatch`` runs operations (eager forward, graph node when needed); the other modules
group them by kind. ``compat/__init__.py`` re-exports them.
"""
