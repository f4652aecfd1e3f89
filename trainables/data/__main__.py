import sys

from trainables.data.info import main

sys.exit(main())
