"""Demo and sample data, kept apart from the product: ``spread serve --demo`` and ``spread import-ckm``.

- ``catalogue``, ``registry``: six demo innovations (the data), adopted across real NHS trusts
  (fictional histories the loader plans and writes).
- ``ckm``: the real Coleman, Katz & Menzel (1957) tetracycline spread among physicians.
- ``outcomes``: real A&E four-hour performance as outcome series, with SPC to find.
- ``campaigns``: a demo campaign over the demo virtual wards.
- ``cli``: the ``import-ckm`` command.

Everything is written through the same service functions partners' requests use (the CKM
import, a fixed historical data set, inserts in bulk under the same database triggers).
"""

from service.demo.catalogue import DEMO_INNOVATIONS, DEMO_SLUGS
from service.demo.registry import load_demo

__all__ = ["DEMO_INNOVATIONS", "DEMO_SLUGS", "load_demo"]
