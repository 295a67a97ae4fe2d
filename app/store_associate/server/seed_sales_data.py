"""The demo chain's shoppers and trade, as data: who lives near each store (names of the cultures there, their
languages, their phone area codes), sales tax per store, and when people shop. seed_sales.py makes 90 days
of sales and collected pickups from these (data apart from logic, as seed_data.py is for the chain)."""

from __future__ import annotations

from decimal import Decimal

# culture: (first names, last names, {locale: share}); the names are those common in the US among people of
# that background, so that searching a customer by name at the counter finds what it would in that city
# (several Garcías in Miami, several Nguyens in Houston).
CULTURES: dict[str, tuple[list[str], list[str], dict[str, float]]] = {
    "anglo": (
        ["Emily", "Michael", "Sarah", "James", "Jessica", "David", "Ashley", "Christopher", "Megan", "Ryan"]
        + ["Lauren", "Matthew", "Hannah", "Tyler", "Olivia", "Ethan", "Madison", "Brian", "Rachel", "Kevin"],
        ["Smith", "Johnson", "Miller", "Davis", "Wilson", "Anderson", "Taylor", "Thomas", "Moore", "Martin"]
        + ["Thompson", "White", "Clark", "Lewis", "Walker", "Hall", "Young", "Allen", "Wright", "Baker"],
        {"en": 1.0},
    ),
    "irish_italian": (
        ["Patrick", "Colleen", "Sean", "Kathleen", "Brendan", "Maureen", "Anthony", "Gina", "Vincent", "Angela"]
        + ["Dominic", "Theresa"],
        ["O'Brien", "Murphy", "Sullivan", "Kelly", "McCarthy", "Walsh", "Russo", "Romano", "Esposito", "Bianchi"]
        + ["DeLuca", "Marino"],
        {"en": 1.0},
    ),
    "hispanic": (
        ["María", "José", "Guadalupe", "Juan", "Sofía", "Carlos", "Valentina", "Luis", "Camila", "Miguel"]
        + ["Ximena", "Alejandro", "Lucía", "Diego", "Isabella", "Javier", "Daniela", "Andrés", "Yesenia", "Ricardo"],
        ["García", "Rodríguez", "Martínez", "Hernández", "López", "González", "Pérez", "Sánchez", "Ramírez"]
        + ["Torres", "Flores", "Rivera", "Gómez", "Díaz", "Morales", "Reyes", "Cruz", "Ortiz", "Vargas", "Castillo"],
        {"es": 0.45, "en": 0.55},
    ),
    "east_asian": (
        ["Wei", "Mei", "Jun", "Yuki", "Hana", "Hiroshi", "Ji-woo", "Min-jun", "Seo-yeon", "Xiao", "Kenji"]
        + ["Aiko", "Daniel", "Grace", "Jenny", "Kevin"],
        ["Chen", "Wang", "Li", "Zhang", "Liu", "Huang", "Kim", "Park", "Lee", "Choi", "Tanaka", "Sato"]
        + ["Nakamura", "Wu", "Lin"],
        {"en": 1.0},
    ),
    "south_asian": (
        ["Priya", "Arjun", "Ananya", "Rahul", "Deepika", "Vikram", "Sneha", "Rohan", "Kavya", "Aditya", "Meera"]
        + ["Sanjay", "Neha", "Amit"],
        ["Patel", "Shah", "Sharma", "Gupta", "Singh", "Reddy", "Iyer", "Desai", "Mehta", "Kumar", "Rao", "Chopra"],
        {"en": 1.0},
    ),
    "arabic": (
        ["Mohammed", "Fatima", "Ahmed", "Layla", "Omar", "Noor", "Yusuf", "Mariam", "Khalid", "Aisha", "Hassan"]
        + ["Rania", "Karim", "Salma", "Tariq", "Yasmin"],
        ["Haddad", "Khalil", "Nasser", "Saleh", "Abdullah", "Mansour", "Hamdan", "Aziz", "Farouk", "Suleiman"]
        + ["Darwish", "El-Amin", "Karam"],
        {"ar": 0.4, "en": 0.6},
    ),
    "african_american": (
        ["Jamal", "Aaliyah", "DeShawn", "Imani", "Malik", "Keisha", "Darnell", "Jasmine", "Terrence", "Ebony"]
        + ["Andre", "Tiana", "Chinedu", "Adaeze", "Kwame", "Ama"],
        ["Washington", "Jackson", "Robinson", "Harris", "Brooks", "Coleman", "Jenkins", "Banks", "Okafor"]
        + ["Adeyemi", "Mensah", "Boateng", "Nwosu", "Owusu"],
        {"en": 1.0},
    ),
    "eastern_european": (
        ["Anna", "Piotr", "Katarzyna", "Tomasz", "Olga", "Dmitri", "Irina", "Pavel", "Marta", "Andrei", "Natalia"]
        + ["Jakub"],
        ["Kowalski", "Nowak", "Wiśniewski", "Ivanov", "Petrov", "Novak", "Horvat", "Kovalenko", "Shevchenko"]
        + ["Dvořák", "Zielinski", "Popescu"],
        {"en": 1.0},
    ),
    "vietnamese": (
        ["Linh", "Minh", "Thao", "Huy", "Trang", "Quang", "Ngoc", "Bao", "Lan", "Tuan"],
        ["Nguyen", "Tran", "Le", "Pham", "Hoang", "Vo", "Dang", "Bui", "Do", "Huynh"],
        {"en": 1.0},
    ),
    "nordic_german": (
        ["Erik", "Ingrid", "Lars", "Karin", "Nils", "Sigrid", "Gunnar", "Astrid", "Hans", "Greta"],
        ["Olson", "Larson", "Swanson", "Lindqvist", "Berg", "Halvorsen", "Schmidt", "Mueller", "Schneider"]
        + ["Fischer", "Weber"],
        {"en": 1.0},
    ),
}

# Who shops where, in shares by culture (a store's code starts with its city's). Cities not listed: DEFAULT_MIX.
DEFAULT_MIX = {
    "anglo": 40,
    "hispanic": 18,
    "african_american": 13,
    "irish_italian": 7,
    "east_asian": 7,
    "south_asian": 5,
    "eastern_european": 4,
    "arabic": 3,
    "nordic_german": 2,
    "vietnamese": 1,
}
CITY_MIX: dict[str, dict[str, int]] = {
    "NYC": {"anglo": 26, "hispanic": 22, "african_american": 15, "east_asian": 12, "irish_italian": 8}
    | {"south_asian": 7, "arabic": 4, "eastern_european": 6},
    "BKN": {"anglo": 18, "hispanic": 18, "african_american": 22, "eastern_european": 14, "arabic": 10}
    | {"east_asian": 8, "irish_italian": 6, "south_asian": 4},
    "JRC": {"anglo": 18, "hispanic": 22, "south_asian": 20, "arabic": 12, "african_american": 14}
    | {"east_asian": 8, "irish_italian": 6},
    "BOS": {"anglo": 34, "irish_italian": 24, "hispanic": 12, "african_american": 12, "east_asian": 10}
    | {"south_asian": 4, "vietnamese": 4},
    "PHL": {"anglo": 28, "african_american": 30, "irish_italian": 16, "hispanic": 12, "east_asian": 6}
    | {"eastern_european": 4, "south_asian": 4},
    "BAL": {"anglo": 30, "african_american": 44, "hispanic": 8, "irish_italian": 8, "east_asian": 5, "south_asian": 5},
    "WDC": {"anglo": 34, "african_american": 34, "hispanic": 12, "east_asian": 7, "south_asian": 6, "arabic": 7},
    "PIT": {"anglo": 40, "irish_italian": 20, "eastern_european": 14, "african_american": 16}
    | {"nordic_german": 6, "east_asian": 4},
    "ATL": {"anglo": 26, "african_american": 46, "hispanic": 10, "east_asian": 6, "south_asian": 8, "vietnamese": 4},
    "MIA": {"hispanic": 64, "anglo": 14, "african_american": 14, "irish_italian": 4, "eastern_european": 4},
    "CLT": {"anglo": 44, "african_american": 32, "hispanic": 12, "south_asian": 6, "east_asian": 3, "vietnamese": 3},
    "CHI": {"anglo": 24, "hispanic": 26, "african_american": 24, "eastern_european": 10, "arabic": 5}
    | {"south_asian": 5, "east_asian": 6},
    "EVN": {"anglo": 44, "african_american": 16, "hispanic": 12, "east_asian": 10, "south_asian": 8}
    | {"eastern_european": 6, "irish_italian": 4},
    "MSP": {"anglo": 30, "nordic_german": 26, "african_american": 18, "hispanic": 10, "east_asian": 6}
    | {"arabic": 6, "vietnamese": 4},
    "DAL": {"anglo": 34, "hispanic": 32, "african_american": 18, "south_asian": 8, "vietnamese": 4, "arabic": 4},
    "HOU": {"hispanic": 40, "anglo": 22, "african_american": 20, "vietnamese": 8, "south_asian": 6, "arabic": 4},
    "AUS": {"anglo": 44, "hispanic": 32, "african_american": 8, "east_asian": 8, "south_asian": 8},
    "DEN": {"anglo": 52, "hispanic": 28, "african_american": 8, "east_asian": 5, "nordic_german": 4, "arabic": 3},
    "PHX": {"hispanic": 40, "anglo": 42, "african_american": 8, "east_asian": 4, "south_asian": 3, "arabic": 3},
    "SLC": {"anglo": 62, "hispanic": 20, "east_asian": 6, "nordic_german": 6, "vietnamese": 3, "arabic": 3},
    "LAX": {"hispanic": 46, "anglo": 24, "east_asian": 14, "african_american": 8, "arabic": 4, "vietnamese": 4},
    "SFO": {"anglo": 36, "east_asian": 32, "hispanic": 14, "african_american": 6, "vietnamese": 6} | {"south_asian": 6},
    "SJC": {"hispanic": 30, "east_asian": 24, "vietnamese": 14, "anglo": 20, "south_asian": 12},
    "SEA": {"anglo": 50, "east_asian": 16, "african_american": 8, "hispanic": 8, "vietnamese": 8}
    | {"nordic_german": 6, "south_asian": 4},
    "PDX": {"anglo": 62, "hispanic": 12, "east_asian": 8, "vietnamese": 6, "african_american": 6}
    | {"nordic_german": 6},
}

# Phones in the store's country format (+1 NPA-NXX-XXXX), with the city's real area codes and the exchange
# 555-01XX that North America keeps for fiction: no seeded number belongs to anyone.
AREA_CODES: dict[str, list[str]] = {
    "NYC": ["212", "646", "332", "917"],
    "BKN": ["718", "347", "929"],
    "JRC": ["201", "551"],
    "BOS": ["617", "857"],
    "PHL": ["215", "267", "445"],
    "BAL": ["410", "443", "667"],
    "WDC": ["202", "771"],
    "PIT": ["412", "878"],
    "ATL": ["404", "470", "678", "770"],
    "MIA": ["305", "786", "645"],
    "CLT": ["704", "980"],
    "CHI": ["312", "773", "872"],
    "EVN": ["847", "224"],
    "MSP": ["612", "651"],
    "DAL": ["214", "469", "972", "945"],
    "HOU": ["713", "281", "832", "346"],
    "AUS": ["512", "737"],
    "DEN": ["303", "720", "983"],
    "PHX": ["602", "480", "623"],
    "SLC": ["801", "385"],
    "LAX": ["213", "323", "310", "424"],
    "SFO": ["415", "628"],
    "SJC": ["408", "669"],
    "SEA": ["206", "425"],
    "PDX": ["503", "971"],
}
DEFAULT_AREA_CODES = ["555"]

# Reserved for documentation (RFC 2606): the seed's customers look real and no mail ever reaches anyone.
EMAIL_DOMAINS = ["example.com", "example.net", "example.org"]

# Sales tax per store, as (general rate, rate on groceries and produce) in percent: the combined state and local
# rates of each city (rounded, 2024); most of these states exempt food, some tax it at a lower rate, Oregon has
# no sales tax. Cities not listed: DEFAULT_TAX.
TAX: dict[str, tuple[Decimal, Decimal]] = {
    code: (Decimal(general), Decimal(food))
    for code, general, food in [
        ("NYC", "8.875", "0"),
        ("BKN", "8.875", "0"),
        ("JRC", "6.625", "0"),
        ("BOS", "6.25", "0"),
        ("PHL", "8", "0"),
        ("BAL", "6", "0"),
        ("WDC", "6", "0"),
        ("PIT", "7", "0"),
        ("ATL", "8.9", "3.9"),
        ("MIA", "7", "0"),
        ("CLT", "7.25", "2"),
        ("CHI", "10.25", "2.25"),
        ("EVN", "10.25", "2.25"),
        ("MSP", "8.025", "0"),
        ("DAL", "8.25", "0"),
        ("HOU", "8.25", "0"),
        ("AUS", "8.25", "0"),
        ("DEN", "8.81", "4.81"),
        ("PHX", "8.6", "0"),
        ("SLC", "7.75", "3"),
        ("LAX", "9.5", "0"),
        ("SFO", "8.625", "0"),
        ("SJC", "9.375", "0"),
        ("SEA", "10.25", "0"),
        ("PDX", "0", "0"),
    ]
}
DEFAULT_TAX = (Decimal("8"), Decimal("0"))
FOOD = {"Grocery", "Produce"}

# How much of the week's trade each day brings (Monday first; they sum to 7, so a store's average day is its
# daily figure): quiet early in the week, busy on Friday and Saturday.
WEEKDAY_SHARE = [0.86, 0.84, 0.90, 0.96, 1.10, 1.32, 1.02]

# Sales per hour of the day (relative), weekdays and weekends: a lunch peak and an after-work peak on weekdays,
# a long midday on weekends, a trickle at night where a store is open around the clock.
HOURLY_WEEKDAY = [0.3, 0.2, 0.2, 0.2, 0.3, 0.5, 1, 2, 4, 5, 6, 8, 11, 10, 7, 7, 8, 11, 12, 10, 7, 4, 2, 1]
HOURLY_WEEKEND = [0.4, 0.3, 0.2, 0.2, 0.2, 0.3, 0.6, 1, 2, 4, 7, 10, 12, 12, 12, 11, 10, 9, 7, 5, 4, 2, 1, 0.6]

# What a basket holds, by category (relative): groceries and drinks often, electronics now and then.
CATEGORY_WEIGHT = {
    "Grocery": 18,
    "Produce": 9,
    "Beverages": 12,
    "Household": 9,
    "Personal Care": 9,
    "Pharmacy": 7,
    "Clothing": 8,
    "Home & Garden": 6,
    "Pet": 6,
    "Electronics": 6,
    "Toys": 5,
    "Stationery": 5,
    "Sports": 5,
}
# Lines per basket, 1 to 6 (relative).
BASKET_LINES = [34, 26, 17, 11, 7, 5]
# Categories bought by the several (a pack of drinks, three cans of food).
MULTI_BUY = {"Grocery", "Produce", "Beverages", "Pet", "Household"}
# Serialised items: a chain records the serial number of its electronics worth more than this (not of cables).
SERIALISED = {"Electronics": Decimal("25")}
SERIAL_PREFIX = {"Voltix": "VX", "Auralink": "AL", "Nordtek": "NT", "PixelPeak": "PP"}
# Gift receipts are asked for more often with these.
GIFTY = {"Toys", "Clothing", "Home & Garden", "Electronics"}
