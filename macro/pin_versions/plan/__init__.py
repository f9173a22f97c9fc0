"""Decide everything before writing anything: which versions to add or reuse, which
placeholder or intrinsic each target becomes, what each role gains, and every warning.

- ``model``: the plan's data (``Plan``, ``Edit``, ``VersionPlan``, ``Use``): what rewrite reads
- ``versions``: which version each function's Tasks are pinned to, named and hashed
- ``retarget``: the definition edits that make each target invoke its version
- ``grants``: the roles that invoke each pinned function, and their retained grants
- ``planner``: ``Planner``, which runs the three over every state machine

Data flows one way: the planner reads definition.py's views and the inventory, and writes
only into its own structures and the ``Plan``.
"""

from .model import Edit, Plan, VersionPlan
from .planner import Planner

__all__ = ["Edit", "Plan", "Planner", "VersionPlan"]
