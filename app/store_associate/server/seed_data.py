"""The demo chain's fixed data: cities, opening hours, the product categories and the names it draws from.
(The generator in seed.py makes the chain from these; they are apart because they are data, not logic.)"""

from __future__ import annotations

# code, name, city, address, lat, lon, timezone
CITIES: list[tuple[str, str, str, float, float, str]] = [
    ("NYC", "New York", "1 Herald Sq", 40.7506, -73.9880, "America/New_York"),
    ("BKN", "Brooklyn", "445 Albee Sq W", 40.6904, -73.9837, "America/New_York"),
    ("JRC", "Jersey City", "30 Mall Dr W", 40.7357, -74.0566, "America/New_York"),
    ("BOS", "Boston", "350 Washington St", 42.3555, -71.0605, "America/New_York"),
    ("PHL", "Philadelphia", "1101 Market St", 39.9520, -75.1590, "America/New_York"),
    ("BAL", "Baltimore", "201 E Pratt St", 39.2866, -76.6122, "America/New_York"),
    ("WDC", "Washington", "1025 F St NW", 38.8977, -77.0270, "America/New_York"),
    ("PIT", "Pittsburgh", "301 Fifth Ave", 40.4406, -79.9959, "America/New_York"),
    ("ATL", "Atlanta", "3393 Peachtree Rd NE", 33.8470, -84.3620, "America/New_York"),
    ("MIA", "Miami", "701 S Miami Ave", 25.7670, -80.1930, "America/New_York"),
    ("CLT", "Charlotte", "4400 Sharon Rd", 35.1520, -80.8340, "America/New_York"),
    ("CHI", "Chicago", "835 N Michigan Ave", 41.8976, -87.6240, "America/Chicago"),
    ("EVN", "Evanston", "1700 Sherman Ave", 42.0480, -87.6830, "America/Chicago"),
    ("MSP", "Minneapolis", "700 Nicollet Mall", 44.9760, -93.2710, "America/Chicago"),
    ("DAL", "Dallas", "13350 Dallas Pkwy", 32.9300, -96.8210, "America/Chicago"),
    ("HOU", "Houston", "5085 Westheimer Rd", 29.7390, -95.4640, "America/Chicago"),
    ("AUS", "Austin", "2901 S Capital of TX Hwy", 30.2470, -97.8020, "America/Chicago"),
    ("DEN", "Denver", "3000 E 1st Ave", 39.7180, -104.9530, "America/Denver"),
    ("PHX", "Phoenix", "2502 E Camelback Rd", 33.5090, -112.0270, "America/Phoenix"),
    ("SLC", "Salt Lake City", "50 S Main St", 40.7680, -111.8910, "America/Denver"),
    ("LAX", "Los Angeles", "189 The Grove Dr", 34.0720, -118.3570, "America/Los_Angeles"),
    ("SFO", "San Francisco", "865 Market St", 37.7840, -122.4070, "America/Los_Angeles"),
    ("SJC", "San Jose", "2855 Stevens Creek Blvd", 37.3240, -121.9460, "America/Los_Angeles"),
    ("SEA", "Seattle", "400 Pine St", 47.6120, -122.3370, "America/Los_Angeles"),
    ("PDX", "Portland", "700 SW 5th Ave", 45.5180, -122.6780, "America/Los_Angeles"),
]


WAREHOUSES: list[tuple[str, str, str, float, float, str]] = [
    ("DCE", "Edison", "300 Raritan Center Pkwy", 40.5187, -74.3410, "America/New_York"),
    ("DCW", "Fort Worth", "4600 Alliance Gateway Fwy", 32.9740, -97.3170, "America/Chicago"),
]


# Stores whose ready pickup orders wait a shorter (or longer) time than the chain's PICKUP_WINDOW_DAYS, in
# hours: Brooklyn's small back room keeps them three days. The others follow the chain's setting.
PICKUP_WINDOW_HOURS = {"BKN-01": 72}


WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


STORE_HOURS = [
    {d: [["08:00", "21:00"]] for d in WEEK[:6]} | {"sun": [["10:00", "18:00"]]},
    {d: [["09:00", "22:00"]] for d in WEEK[:6]} | {"sun": [["10:00", "19:00"]]},
    {d: [["07:00", "23:00"]] for d in WEEK},
    {d: [["00:00", "00:00"]] for d in WEEK},  # open around the clock
]


WAREHOUSE_HOURS = {d: [["06:00", "22:00"]] for d in WEEK[:5]} | {"sat": [["06:00", "14:00"]], "sun": []}


# category: (slug, price range in dollars, brands, nouns, adjectives, sizes)
CATEGORIES: dict[str, tuple[str, tuple[int, int], list[str], list[str], list[str], list[str]]] = {
    "Grocery": (
        "grocery",
        (1, 12),
        ["Harvest Table", "Golden Mill", "Nonna's", "Prairie Farms"],
        [
            "Pasta",
            "Rice",
            "Oats",
            "Granola",
            "Peanut Butter",
            "Olive Oil",
            "Tomato Sauce",
            "Crackers",
            "Honey",
            "Black Beans",
            "Coffee Beans",
            "Green Tea",
        ],
        ["Organic", "Whole Grain", "Classic", "Extra Virgin", "Roasted", "Low Sodium"],
        ["250 g", "500 g", "1 kg", "12 oz", "16 oz", "750 ml"],
    ),
    "Beverages": (
        "beverages",
        (1, 8),
        ["Blue Spring", "Citrus Co", "Mountain Brew", "FizzUp"],
        ["Sparkling Water", "Orange Juice", "Cold Brew", "Lemonade", "Iced Tea", "Kombucha"],
        ["Unsweetened", "Lime", "Peach", "Original", "Zero Sugar"],
        ["330 ml", "500 ml", "1 l", "6 x 330 ml", "12 fl oz"],
    ),
    "Household": (
        "household",
        (2, 25),
        ["CleanPro", "Homestead", "Brightly", "EcoNest"],
        ["Dish Soap", "Laundry Pods", "Paper Towels", "Trash Bags", "Sponges", "Glass Cleaner"],
        ["Lemon", "Fragrance Free", "Heavy Duty", "Lavender", "Eco"],
        ["24 ct", "6 rolls", "1 l", "750 ml", "40 ct"],
    ),
    "Personal Care": (
        "personal-care",
        (2, 30),
        ["Pure Leaf", "Dermaline", "Oceana", "Fresh & Co"],
        ["Shampoo", "Conditioner", "Body Wash", "Toothpaste", "Deodorant", "Hand Cream", "Sunscreen SPF 50"],
        ["Sensitive", "Argan Oil", "Mint", "Aloe", "Unscented"],
        ["75 ml", "250 ml", "400 ml", "2 pack"],
    ),
    "Electronics": (
        "electronics",
        (9, 400),
        ["Voltix", "Auralink", "Nordtek", "PixelPeak"],
        [
            "USB-C Cable",
            "Wireless Earbuds",
            "Power Bank",
            "Bluetooth Speaker",
            "Phone Charger",
            "HDMI Cable",
            "Smart Plug",
            "Webcam",
            "Keyboard",
            "Mouse",
        ],
        ["Fast Charge", "Noise Cancelling", "Compact", "Pro", "2 m", "20,000 mAh"],
        ["Black", "White", "Graphite", "Blue"],
    ),
    "Toys": (
        "toys",
        (5, 80),
        ["Playmakers", "BrickBox", "Wonderloop", "Tiny Tribe"],
        ["Building Set", "Puzzle 1000 pcs", "Plush Bear", "Race Car", "Board Game", "Doll House"],
        ["Deluxe", "Junior", "Classic", "Glow-in-the-Dark"],
        ["3+", "6+", "8+", "12+"],
    ),
    "Clothing": (
        "clothing",
        (8, 120),
        ["Northbound", "Linen & Loom", "Urban Thread", "Trailhead"],
        ["T-Shirt", "Hoodie", "Jeans", "Rain Jacket", "Socks 3-pack", "Chinos", "Beanie"],
        ["Organic Cotton", "Slim Fit", "Relaxed", "Waterproof", "Merino"],
        ["S", "M", "L", "XL"],
    ),
    "Home & Garden": (
        "home-garden",
        (4, 150),
        ["Greenway", "Casa Nova", "Hearth", "Terra"],
        ["Plant Pot", "Garden Hose", "Throw Blanket", "Scented Candle", "Desk Lamp", "Storage Box", "Picture Frame"],
        ["Ceramic", "Expandable", "Cozy", "Vanilla", "LED", "Stackable"],
        ["Small", "Medium", "Large", "Set of 2"],
    ),
    "Pet": (
        "pet",
        (3, 60),
        ["Happy Paws", "Whisker Co", "Tail Trail"],
        ["Dry Dog Food", "Cat Litter", "Chew Toy", "Cat Treats", "Dog Leash"],
        ["Grain Free", "Clumping", "Durable", "Salmon", "Reflective"],
        ["1.5 kg", "5 kg", "10 lb", "Small", "Large"],
    ),
    "Stationery": (
        "stationery",
        (1, 25),
        ["Inkwell", "PaperCraft", "Scribe"],
        ["Notebook", "Gel Pens 10-pack", "Highlighters", "Sticky Notes", "Stapler", "Backpack"],
        ["A5 Dotted", "Pastel", "Neon", "Heavy Duty", "Recycled"],
        ["1 pc", "5 pcs", "12 pcs"],
    ),
    "Sports": (
        "sports",
        (6, 200),
        ["Stride", "Apex Gear", "Kinetic"],
        ["Yoga Mat", "Water Bottle", "Running Socks", "Dumbbell Set", "Tennis Balls", "Jump Rope"],
        ["Non-Slip", "Insulated", "Adjustable", "Pro", "Lightweight"],
        ["750 ml", "1 l", "2 x 5 kg", "3 pack", "One Size"],
    ),
    "Pharmacy": (
        "pharmacy",
        (3, 35),
        ["CareWell", "MediPlus", "Vitaline"],
        ["Ibuprofen 200 mg", "Vitamin D3", "Allergy Relief", "Bandages", "Cough Syrup", "Multivitamin"],
        ["Extra Strength", "Non-Drowsy", "Kids", "Waterproof", "Daily"],
        ["24 ct", "60 ct", "100 ct", "120 ml"],
    ),
}


PRODUCE = [
    ("4011", "Bananas", "per lb", "0.69"),
    ("4131", "Fuji Apples", "per lb", "1.99"),
    ("4046", "Avocado Hass", "each", "1.49"),
    ("4065", "Green Peppers", "each", "0.99"),
    ("4087", "Roma Tomatoes", "per lb", "1.79"),
    ("4225", "Large Avocado", "each", "2.29"),
    ("4664", "Tomatoes on the Vine", "per lb", "2.49"),
    ("4072", "Russet Potatoes", "per lb", "0.89"),
]


BAKERY = ["Sourdough Loaf", "Baguette", "Croissant 4-pack", "Blueberry Muffins", "Rye Bread", "Bagels 6-pack"]


FIRST_NAMES = ["Alex", "Sam", "Jordan", "Maria", "Wei", "Aisha", "Diego", "Priya", "Tom", "Fatima", "Kenji", "Lena"]


LAST_NAMES = ["Rivera", "Chen", "Okafor", "Schmidt", "Nguyen", "Haddad", "Kowalski", "Patel", "Moreau", "Silva"]
