"""``python -m streamkit.local.terraform [ROOT]``: write ROOT/.streamkit/terraform.rc.

Run by ``./dev setup``; prints the file's path, or why it cannot be written (exit 1).
"""

import sys

from streamkit.local.terraform.setup import main

if __name__ == "__main__":  # importing the module (tests walk every module) does nothing
    sys.exit(main())
