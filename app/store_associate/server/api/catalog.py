"""Products: by any code, by SKU, by search."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ...domain.codes import MAX_CODE_LENGTH, CodeKind, interpret
from ...domain.permissions import Permission
from .. import crud
from ..models import Barcode, InventoryLevel, Product
from .deps import DirectoryDep, SessionDep, SkuPath, guard, require_store
from .errors import bad_request, not_found, responses
from .schemas.catalogue import CodeOut, LookupOut, ProductOut, ScanOut, SearchOut
from .schemas.stock import StockOut

router = APIRouter(prefix="/api/v1/products", tags=["catalog"])

_NOT_PRODUCT = {CodeKind.PICKUP, CodeKind.LOYALTY, CodeKind.RETURN_LABEL}


def product_out(product: Product, codes: list[Barcode]) -> ProductOut:
    return ProductOut(
        sku=product.sku,
        name=product.name,
        brand=product.brand,
        description=product.description,
        category=product.category,
        price=product.price,
        currency=product.currency,
        image=product.image,
        attributes=product.attributes,
        codes=[CodeOut(code=c.code, kind=c.kind, pack_qty=c.pack_qty) for c in codes],
    )


def stock_out(level: InventoryLevel | None, store: str) -> StockOut:
    from ...domain.inventory import StockFigures

    f = (
        StockFigures(level.on_hand, level.reserved, level.safety_stock, level.incoming, level.damaged)
        if level
        else StockFigures()
    )
    return StockOut(
        store=store,
        on_hand=f.on_hand,
        reserved=f.reserved,
        safety_stock=f.safety_stock,
        available_to_promise=f.available_to_promise,
        incoming=f.incoming,
        damaged=f.damaged,
        status=f.status.value,
        updated_at=level.updated_at if level else None,
    )


@router.get(
    "/lookup",
    response_model=LookupOut,
    summary="The product a scanned or typed code stands for",
    responses=responses(400, 404),
    **guard(Permission.CATALOG_READ),
)
def lookup(
    session: SessionDep,
    directory: DirectoryDep,
    code: Annotated[str, Query(max_length=MAX_CODE_LENGTH * 2)],
    store: Annotated[str | None, Query(max_length=16, description="include this store's stock")] = None,
) -> LookupOut:
    info = interpret(code)
    if not info.valid:
        raise bad_request(
            info.error or "code.error.malformed",
            f"This is not a valid code ({info.detail}). Scan it again or type the digits under the barcode.",
        )
    if info.kind in _NOT_PRODUCT:
        raise bad_request(
            "code.error.not_a_product",
            f"This is a {info.kind.value.replace('_', ' ')} code, not a product. Open the matching screen to use it.",
        )
    if store is not None:
        require_store(session, directory, store)
    found = crud.find_product_by_code(session, info)
    if found is None:
        raise not_found("product.unknown_code", "No product has this code. Check the label, or search by name or SKU.")
    product, barcode = found
    scan = ScanOut(
        kind=info.kind.value,
        gtin=info.gtin,
        batch=info.batch,
        expiry=info.expiry,
        best_before=info.best_before,
        serial=info.serial,
        net_weight_kg=info.net_weight_kg,
        embedded_price=info.price,
    )
    return LookupOut(
        product=product_out(product, crud.product_codes(session, product.sku)),
        scan=scan,
        matched_code=barcode.code if barcode else None,
        stock=stock_out(crud.stock_here(session, store, product.sku), store) if store else None,
    )


@router.get(
    "/search",
    response_model=SearchOut,
    summary="Search by name, brand or SKU",
    responses=responses(400),
    **guard(Permission.CATALOG_READ),
)
def search(
    session: SessionDep,
    q: Annotated[str, Query(min_length=2, max_length=100)],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> SearchOut:
    if not q.strip():
        raise bad_request("search.empty", "Type at least two letters or digits to search.")
    rows, total = crud.search_products(session, q.strip(), limit, offset)
    return SearchOut(total=total, items=[product_out(p, []) for p in rows])


@router.get(
    "/{sku}",
    response_model=ProductOut,
    summary="One product by SKU, with its codes",
    responses=responses(400, 404),
    **guard(Permission.CATALOG_READ),
)
def get_product(session: SessionDep, sku: SkuPath) -> ProductOut:
    if len(sku) > 32:
        raise bad_request("product.bad_sku", "A SKU has at most 32 characters.")
    product = session.get(Product, sku)
    if product is None or product.deleted:
        raise not_found("product.not_found", f"No product has the SKU {sku!r}. Search by name instead.")
    return product_out(product, crud.product_codes(session, sku))
