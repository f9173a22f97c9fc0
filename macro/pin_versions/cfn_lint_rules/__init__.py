"""cfn-lint rules for pin-versions: ``cfn-lint --append-rules=<this directory> TEMPLATE``.

The directory is ``python -c "import pin_versions.cfn_lint_rules as r; print(r.__path__[0])"``.
cfn-lint loads every ``*.py`` file here but this one.
"""
