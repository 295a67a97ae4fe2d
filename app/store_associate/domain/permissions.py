"""Who may do what: the one permission table, used by the API routes and the sync handlers alike.

A request is made by a *principal*: a person signed in on an enrolled device (associate, manager,
admin), a kiosk device (no person), the web shop's order-intake key, or a store till's key (its sales).
Store scoping is separate from the permission: a permission says what, `Scope` says where.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ASSOCIATE = "associate"
    MANAGER = "manager"
    ADMIN = "admin"
    KIOSK = "kiosk"  # a device role: no person signs in
    DEVICE = "device"  # an enrolled tablet or desktop with nobody signed in: keeps its copy fresh
    WEB_SHOP = "web_shop"  # the order-intake API key
    TILL = "till"  # a store's till: an API key of one store, which posts that store's sales


class Permission(StrEnum):
    CATALOG_READ = "catalog.read"  # products, prices, codes, search
    STOCK_READ = "stock.read"  # stock here and quantities at other locations
    STORES_READ = "stores.read"  # locations and hours
    SYNC_PULL = "sync.pull"  # the store's change log
    SYNC_PUSH = "sync.push"  # send the device's outbox
    STOCK_ADJUST = "stock.adjust"  # counts and adjustments
    ORDER_REQUEST_CREATE = "order_request.create"  # a shopper's "order this for me" at a kiosk
    ORDER_INTAKE = "order.intake"  # web-shop orders
    ORDERS_READ = "orders.read"
    ORDERS_SYNC = "orders.sync"  # keep the store's orders on the device for offline work (they come with pull)
    ORDERS_FULFIL = "orders.fulfil"  # pick, stage, hand over
    TRANSFERS_SHIP = "transfers.ship"  # record a ship-to-store parcel's carrier and tracking number
    RETURNS_PROCESS = "returns.process"
    RETURNS_CREATE = "returns.create"  # open, record, receive, refund and cancel a customer return
    RETURNS_APPROVE = "returns.approve"  # manager override (PIN + note)
    CUSTOMERS_READ = "customers.read"
    SALES_POST = "sales.post"  # a till reports a sale of its store
    SALES_READ = "sales.read"  # find a sale to return against (any store's: a customer returns anywhere)
    DEVICES_ENROL = "devices.enrol"  # create enrolment codes
    DEVICES_MANAGE = "devices.manage"  # list, revoke, see sync status
    STORES_MANAGE = "stores.manage"  # a store's own settings (its pickup window)
    STAFF_MANAGE = "staff.manage"
    AUDIT_READ = "audit.read"


_ASSOCIATE = {
    Permission.CATALOG_READ,
    Permission.STOCK_READ,
    Permission.STORES_READ,
    Permission.SYNC_PULL,
    Permission.SYNC_PUSH,
    Permission.STOCK_ADJUST,
    Permission.ORDER_REQUEST_CREATE,
    Permission.ORDERS_READ,
    Permission.ORDERS_SYNC,
    Permission.ORDERS_FULFIL,
    Permission.RETURNS_PROCESS,
    Permission.RETURNS_CREATE,
    Permission.CUSTOMERS_READ,
    Permission.SALES_READ,
}
_MANAGER = _ASSOCIATE | {
    Permission.RETURNS_APPROVE,
    Permission.DEVICES_ENROL,
    Permission.DEVICES_MANAGE,
    Permission.AUDIT_READ,
    Permission.TRANSFERS_SHIP,
    Permission.STORES_MANAGE,
}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ASSOCIATE: frozenset(_ASSOCIATE),
    Role.MANAGER: frozenset(_MANAGER),
    Role.ADMIN: frozenset(_MANAGER | {Permission.STAFF_MANAGE}),
    # A kiosk is a shoppers' device: no ORDERS_SYNC. Of the orders it pulls only its own requests, and those
    # without the customer or the pickup code (see server/crud.py sync_scope): the next shopper must not read them.
    Role.KIOSK: frozenset(
        {
            Permission.CATALOG_READ,
            Permission.STOCK_READ,
            Permission.STORES_READ,
            Permission.SYNC_PULL,
            Permission.ORDER_REQUEST_CREATE,
        }
    ),
    # An enrolled tablet pushes its outbox even when nobody is signed in online (offline sign-in, or
    # the person signed out before the network came back); each mutation names who did it and the
    # server checks that person's role for it.
    # It keeps the store's orders (ORDERS_SYNC) with nobody signed in too: the tablet has one pull cursor for
    # everyone who uses it, so order changes skipped by a pull made while nobody is signed in would never come
    # back once someone signs in; and offline sign-in needs the orders already on the tablet.
    Role.DEVICE: frozenset(
        {
            Permission.CATALOG_READ,
            Permission.STOCK_READ,
            Permission.STORES_READ,
            Permission.SYNC_PULL,
            Permission.SYNC_PUSH,
            Permission.ORDERS_SYNC,
            # The store's sales of the last 90 days, for the same reason: a return on a sale works offline.
            Permission.SALES_READ,
        }
    ),
    Role.WEB_SHOP: frozenset({Permission.ORDER_INTAKE}),
    # A till posts its store's sales, nothing else (server/api/sales.py checks the store).
    Role.TILL: frozenset({Permission.SALES_POST}),
}

# Roles that may work in any store; the others only in the store their device is enrolled in.
CHAIN_WIDE = frozenset({Role.ADMIN, Role.WEB_SHOP})


def allowed(role: Role, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS.get(role, frozenset())


def may_act_in_store(role: Role, home_store: str | None, store: str) -> bool:
    """Store scoping: orders, returns, customers and devices of a store belong to that store's staff."""
    return role in CHAIN_WIDE or (home_store is not None and home_store == store)
