"""Programs that run inside the bubblewrap sandbox, bound read-only into it and run by path.

``guard.py`` is the student's kernel, ``zygote.py`` the pre-warmed kernel factory. ``limits.py``
(resource limits, prctl) and ``protocol.py`` (JSON-lines messages) are shared with the host side,
which imports them as ``autograder.sandbox.inside.limits`` / ``.protocol``. Nothing here imports
anything of the course but these four files.
"""
