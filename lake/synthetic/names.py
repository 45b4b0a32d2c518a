"""Fake personal names, e-mail domains and phone prefixes (ASCII, by region)."""

from __future__ import annotations

import numpy as np

FIRST = {
    "vietnamese": "An Anh Bao Binh Chi Cuong Dung Dat Giang Ha Hai Hanh Hieu Hoa Hung Huong Khanh Lan Linh Long Mai Minh Nam Ngoc Nhung Phuong Quang Son Thao Thanh Trang Tuan Vy Yen",
    "iberian": "Ana Antonio Beatriz Bruno Carla Carlos Catarina Diogo Duarte Filipa Francisco Goncalo Ines Joana Joao Jorge Jose Lucia Luis Manuel Margarida Maria Marta Miguel Nuno Pedro Rafael Ricardo Rita Rui Sara Sofia Tiago Vasco",
    "french": "Alice Antoine Camille Chloe Claire Emma Etienne Hugo Julie Julien Laura Lea Louis Lucas Manon Marie Mathieu Nicolas Paul Pierre Sophie Thomas",
    "german": "Anna Ben Christian Claudia Felix Hannah Jan Jonas Julia Katrin Lena Lukas Maximilian Michael Paul Sabine Sandra Stefan Thomas Tobias Ursula",
    "english": "Amelia Charlotte Daniel David Emily George Grace Harry Isabella Jack James Jessica John Laura Lucy Mark Matthew Oliver Olivia Rachel Sarah Sophie Thomas William",
    "east_asian": "Chen Hiroshi Jia Jin Kenji Li Mei Min-jun Seo-yeon Wei Xin Yu Yuki Yuna Zhang",
}
LAST = {
    "vietnamese": "Nguyen Tran Le Pham Hoang Huynh Phan Vu Vo Dang Bui Do Ho Ngo Duong Ly",
    "iberian": "Silva Santos Ferreira Pereira Oliveira Costa Rodrigues Martins Jesus Sousa Fernandes Goncalves Gomes Lopes Marques Alves Garcia Lopez Martinez Sanchez Perez Ribeiro",
    "french": "Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon Laurent Lefebvre Michel Garcia David Bertrand Roux Vincent Fournier",
    "german": "Muller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Koch Richter Klein Wolf Neumann Schwarz Zimmermann Braun",
    "english": "Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Walker Wright Robinson Thompson White Hughes Edwards Green Hall Wood Clarke",
    "east_asian": "Wang Li Zhang Liu Chen Yang Kim Lee Park Choi Sato Suzuki Takahashi Tanaka Watanabe",
}
REGIONS = tuple(FIRST)
_REGION_OF_COUNTRY = {
    "VNM": "vietnamese",
    **dict.fromkeys(["PRT", "ESP", "BRA", "AGO", "MOZ", "ARG", "MEX", "CHL", "COL"], "iberian"),
    **dict.fromkeys(["FRA", "BEL", "LUX", "MAR", "DZA", "TUN"], "french"),
    **dict.fromkeys(["DEU", "AUT", "CHE", "NLD", "DNK"], "german"),
    **dict.fromkeys(["CHN", "JPN", "KOR", "TWN", "HKG", "SGP"], "east_asian"),
}
DIAL_CODE = {
    "VNM": 84, "PRT": 351, "GBR": 44, "FRA": 33, "ESP": 34, "DEU": 49, "ITA": 39, "IRL": 353,
    "BEL": 32, "BRA": 55, "NLD": 31, "USA": 1, "CHE": 41, "CN": 86, "CHN": 86, "AUT": 43,
    "SWE": 46, "POL": 48, "ISR": 972, "RUS": 7, "NOR": 47, "ROU": 40, "FIN": 358, "DNK": 45,
    "AUS": 61, "AGO": 244, "LUX": 352, "MAR": 212, "TUR": 90, "HUN": 36, "JPN": 81,
    "KOR": 82, "CAN": 1, "IND": 91, "GRC": 30, "CZE": 420, "ARG": 54, "MEX": 52,
}
PUBLIC_DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com")
PUBLIC_WEIGHTS = (0.46, 0.14, 0.16, 0.16, 0.08)
# Fictional companies of corporate guests.
CORPORATE_DOMAINS = (
    "lotus-logistics.example", "mekong-trading.example", "atlantic-consulting.example",
    "northwind-pharma.example", "bluepeak-energy.example", "silverline-bank.example",
    "harbor-insurance.example", "redriver-tech.example",
)


def region_of(country_codes: np.ndarray, vocab: tuple[str, ...]) -> np.ndarray:
    """Region index of each country code (-1 = unknown -> english)."""
    table = np.array(
        [REGIONS.index(_REGION_OF_COUNTRY.get(c, "english")) for c in vocab] + [REGIONS.index("english")],
        dtype=np.int32,
    )
    return table[np.where(country_codes < 0, len(vocab), country_codes)]


def flat_lists(lists: dict[str, str]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """All names in one list, with each region's start and size."""
    words = [lists[r].split() for r in REGIONS]
    sizes = np.array([len(w) for w in words])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    return [x for w in words for x in w], starts, sizes


def dial_codes(vocab: tuple[str, ...]) -> np.ndarray:
    return np.array([DIAL_CODE.get(c, 44) for c in vocab] + [44], dtype=np.int32)
