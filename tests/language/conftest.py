"""Fixtures of the staff assistant's tests: a marts file written with SQL (two made-up hotels,
a few rooms and bookings around the day their data is current as of), a knowledge base of
short policies in English and Vietnamese embedded with the real multilingual embedder, and a
request router trained on a few labelled messages. Session-scoped: embedding is the slow part.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from language.assistant_tools import DataTools, Marts
from language.embedders import Embedder
from language.knowledge_base import KnowledgeBase
from language.request_routing import TEAMS, RequestRouter

AS_OF = date(2024, 3, 10)  # both hotels' data is current as of this day
TOMORROW = date(2024, 3, 11)
LOTUS, PINE = "Lotus Bay Hotel", "Pine Ridge Lodge"  # made up

MARTS_SQL = f"""
create table dim_hotel_as_of (hotel varchar, hotel_code varchar, as_of_date date);
insert into dim_hotel_as_of values ('{LOTUS}', 'LBH', date '{AS_OF}'),
                                   ('{PINE}', 'PRL', date '{AS_OF}');
create table dim_hotels (hotel_code varchar, hotel varchar, currency varchar);
insert into dim_hotels values ('LBH', '{LOTUS}', 'VND'), ('PRL', '{PINE}', 'EUR');
create table dim_rooms (hotel varchar, hotel_code varchar, room_number varchar,
                        room_type varchar, floor integer, latest_inspection_status varchar,
                        latest_inspected_at timestamp, is_ready_for_guest boolean);
insert into dim_rooms values
  ('{LOTUS}', 'LBH', '201', 'A', 2, 'clean',       timestamp '2024-03-10 08:15:00', true),
  ('{LOTUS}', 'LBH', '202', 'A', 2, 'dirty',       timestamp '2024-03-10 09:40:00', false),
  ('{LOTUS}', 'LBH', '203', 'D', 2, 'inspected',   timestamp '2024-03-07 16:05:00', true),
  ('{PINE}',  'PRL', '104', 'A', 1, 'maintenance', timestamp '2024-03-09 11:20:00', false),
  ('{PINE}',  'PRL', '305', 'D', 3, 'clean',       timestamp '2024-03-10 10:30:00', true);
create table fct_bookings (booking_id varchar, hotel varchar, room_number varchar,
                           arrival_date date, departure_date date, nights integer,
                           reserved_room_type varchar, adults integer, children integer,
                           market_segment varchar, deposit_type varchar, lead_time integer,
                           is_canceled boolean, reservation_status varchar,
                           reservation_status_date date);
insert into fct_bookings values
  -- in room 203 since 2024-03-07: the occupied room
  ('B1004', '{LOTUS}', '203', date '2024-03-07', date '2024-03-12', 5, 'D', 2, 0,
   'Online TA', 'No Deposit', 40, false, 'Check-Out', date '2024-03-12'),
  -- arriving the day after as_of
  ('B1001', '{LOTUS}', null, date '2024-03-11', date '2024-03-13', 2, 'A', 2, 1,
   'Direct', 'No Deposit', 12, false, 'Check-Out', date '2024-03-13'),
  -- cancelled on 2024-03-05, before as_of: no longer an arrival
  ('B1002', '{LOTUS}', null, date '2024-03-11', date '2024-03-14', 3, 'A', 1, 0,
   'Groups', 'Non Refund', 90, true, 'Canceled', date '2024-03-05'),
  -- cancelled on 2024-03-11, after as_of: still live as of 2024-03-10
  ('B1003', '{LOTUS}', null, date '2024-03-11', date '2024-03-12', 1, 'D', 2, 0,
   'Online TA', 'No Deposit', 150, true, 'Canceled', date '2024-03-11'),
  ('B2001', '{PINE}', null, date '2024-03-11', date '2024-03-15', 4, 'D', 3, 0,
   'Offline TA/TO', 'No Deposit', 60, false, 'Check-Out', date '2024-03-15'),
  -- arriving later in the week
  ('B2002', '{PINE}', null, date '2024-03-14', date '2024-03-16', 2, 'A', 2, 0,
   'Direct', 'No Deposit', 5, false, 'Check-Out', date '2024-03-16');
"""

# Markdown documents: {language/file: text}
DOCUMENTS = {
    "en/late-checkout.md": """# Check-out

## Late check-out
Guests may keep their room until 14:00 for 25% of the nightly rate, or until 18:00 for 50%.
Ask the front desk the evening before; late check-out depends on the next arrival.

## Luggage after check-out
The concierge keeps luggage free of charge until midnight on the day of departure.
""",
    "en/pets.md": """# Pets

## Dogs
Dogs up to 12 kg are welcome for 15 EUR a night; they may not stay alone in the room.

## Other animals
Cats, birds and reptiles are not accepted. Guide dogs are always welcome, free of charge.
""",
    "en/housekeeping.md": """# Housekeeping standards

## Cleaning a room after departure
Strip the beds, clean the bathroom from top to bottom, vacuum, and restock the minibar.
A supervisor inspects the room before it is released as ready for the next guest.
""",
    "vi/tra-phong.md": """# Trả phòng

## Trả phòng muộn
Khách có thể giữ phòng đến 14:00 với 25% giá một đêm, hoặc đến 18:00 với 50%.
Khách cần báo lễ tân tối hôm trước; trả phòng muộn tùy vào khách đến tiếp theo.

## Gửi hành lý sau khi trả phòng
Nhân viên hỗ trợ giữ hành lý miễn phí đến nửa đêm ngày khách rời đi.
""",
    "vi/thu-cung.md": """# Thú cưng

## Chó
Khách sạn nhận chó dưới 12 kg với phí 15 EUR mỗi đêm; không để chó một mình trong phòng.

## Động vật khác
Không nhận mèo, chim và bò sát. Chó dẫn đường luôn được chào đón, miễn phí.
""",
}

# Three labelled messages per category, in the format of language/routing/train.jsonl
ROUTING = [
    ("Could you bring two extra towels to room 201?", "en", "housekeeping", "normal", "extra_towels"),
    ("Please clean our room while we are at breakfast.", "en", "housekeeping", "low", "room_cleaning"),
    ("Cho mình xin thêm khăn tắm và gối ở phòng 305 nhé", "vi", "housekeeping", "normal", "extra_towels"),
    ("The air conditioning in room 412 is blowing warm air.", "en", "maintenance", "high", "air_conditioning"),
    ("The shower drain is blocked and the bathroom is flooding a bit.", "en", "maintenance", "high", "plumbing"),
    ("Phòng 203 không có nước nóng, nhờ kiểm tra giúp", "vi", "maintenance", "high", "plumbing"),
    ("Can we check in early tomorrow morning around 9?", "en", "front_desk", "normal", "stay_change"),
    ("Could we extend our stay by one more night?", "en", "front_desk", "normal", "stay_change"),
    ("Cho mình trả phòng muộn đến 2 giờ chiều được không?", "vi", "front_desk", "normal", "stay_change"),
    ("Can you book us a taxi to the airport at 6 am?", "en", "concierge", "normal", "concierge_request"),
    ("Which restaurant nearby would you recommend for seafood?", "en", "concierge", "low", "concierge_request"),
    ("Đặt giúp mình tour tham quan vịnh ngày mai", "vi", "concierge", "normal", "concierge_request"),
    ("We would like to order two club sandwiches to the room.", "en", "food_beverage", "normal", "room_service"),
    ("Is breakfast served until 10 on Sunday?", "en", "food_beverage", "low", "dining_info"),
    ("Cho mình gọi hai ly cà phê sữa đá lên phòng", "vi", "food_beverage", "normal", "room_service"),
    ("I was charged twice for the minibar, please fix my bill.", "en", "billing", "normal", "billing_request"),
    ("Can I get an invoice with my company's tax number?", "en", "billing", "low", "billing_request"),
    ("Hóa đơn của tôi bị tính sai tiền phòng", "vi", "billing", "normal", "billing_request"),
    ("The staff at reception were rude to us, I want to speak to the manager.", "en", "complaint", "high", "service_complaint"),
    ("The noise from the bar kept us awake all night, this is unacceptable.", "en", "complaint", "high", "service_complaint"),
    ("Tôi rất thất vọng, phòng bẩn và nhân viên không hỗ trợ", "vi", "complaint", "high", "service_complaint"),
    ("There is smoke coming from the corridor, please help!", "en", "emergency", "urgent", "fire"),
    ("My husband collapsed in room 512, call an ambulance!", "en", "emergency", "urgent", "medical"),
    ("Cứu với, có cháy ở tầng 3!", "vi", "emergency", "urgent", "fire"),
]
ROUTING_MESSAGES = [
    {"text": text, "language": language, "category": category, "priority": priority,
     "team": TEAMS[category],
     "request": {"type": kind, "room_number": None, "items": [], "quantity": None,
                 "urgency": priority}}
    for text, language, category, priority, kind in ROUTING]


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return Embedder("multilingual-e5-small")


@pytest.fixture(scope="session")
def marts(tmp_path_factory) -> Marts:
    path = tmp_path_factory.mktemp("warehouse") / "marts.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(MARTS_SQL)
    return Marts(path)


def write_documents(folder: Path) -> Path:
    for name, text in DOCUMENTS.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def knowledge(tmp_path_factory, embedder) -> KnowledgeBase:
    root = tmp_path_factory.mktemp("knowledge")
    kb = KnowledgeBase(str(root / "vectors"), embedder)
    kb.rebuild(write_documents(root / "documents"))
    return kb


@pytest.fixture(scope="session")
def routing_messages() -> list[dict]:
    return [dict(m) for m in ROUTING_MESSAGES]


@pytest.fixture(scope="session")
def router(routing_messages, embedder) -> RequestRouter:
    return RequestRouter.train(routing_messages, embedder)


@pytest.fixture(scope="session")
def data(marts, knowledge) -> DataTools:
    """The tools on the marts and the knowledge base, without model functions."""
    return DataTools(marts, knowledge)
