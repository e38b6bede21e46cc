"""``python -m course.product.train``: the ``course train`` command."""

import sys

from course.product.train import main

sys.exit(main())
