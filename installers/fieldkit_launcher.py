"""Entry point of the frozen laptop app (installers/fieldkit.spec): the ``fieldkit`` command.

``fieldkit gui`` opens the desktop app; every other subcommand works headless, exactly as the
``fieldkit`` console script of a pip install.
"""

from fieldkit.cli import main

raise SystemExit(main())
