"""The province pages as reports: their headings and sentences in each language, and their tables for reading.

One module because the five province pages share one way of writing: every heading and
sentence in both languages in one table (:data:`TEXT`), chart titles that say what differs
between charts, and every published table built with :func:`povanalysis.reports.readable.readable`
from the results objects the pages compute (numbers as computed, only their presentation
here); the tables of household counts go through the disclosure rule
(:func:`povanalysis.reports.disclosure.protect`).  The workbook's sheets of these tables are
built in :mod:`povanalysis.reports.sheets`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from IPython.display import Markdown

from .. import config
from ..common.labels import af_cutoff, af_label, check_lang, format_number, format_percent, label, pick
from .disclosure import Layout, protect
from .readable import Column, Readable, readable

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = [
    "TEXT",
    "title",
    "text",
    "retitle",
    "names",
    "protected_counts",
    "overview_table",
    "moran_table",
    "dose_table",
    "cost_table",
    "channel_table",
    "channel_effect_text",
    "channel_forest",
    "lending_table",
    "lending_text",
    "gap_table",
    "area_gap_table",
    "scores_table",
    "target_list",
    "conflict_table",
    "projection_table",
    "p_meet_readable",
    "p_meet_sentence",
    "status_table",
    "ranking_table",
    "eligible_table",
    "accuracy_table",
    "coverage_chart",
    "accuracy_sentence",
    "at_risk_table",
    "priority_table",
    "allocation_table",
    "sae_text",
    "benchmark_text",
    "diagnostics_table",
    "coefficient_table",
    "sae_table",
]

#: Headings and sentences of the province pages: key → (Vietnamese, English); ``{fields}`` filled in.
TEXT: Mapping[str, tuple[str, str]] = {
    # 01 overview
    "overview.title": (
        "# Hộ nghèo, hộ cận nghèo và thiếu hụt đa chiều tỉnh Thái Nguyên, kỳ rà soát {year}",
        "# Poor and near-poor households and multidimensional deprivation in Thai Nguyen province, {year} review",
    ),
    "overview.lead": (
        "Số liệu từ kết quả rà soát hộ nghèo hằng năm từ {first} đến {year}, phân loại theo chuẩn nghèo áp dụng "
        "cho từng năm rà soát; hồ sơ thiếu hụt và bản đồ theo kỳ rà soát {year}.",
        "Figures from the annual poor-household reviews {first} to {year}, each classified under the poverty "
        "standard of its year; deprivation profile and maps of the {year} review.",
    ),
    "overview.terms": ("## Giải thích thuật ngữ", "## Terms"),
    "overview.trend": ("## Tỷ lệ hộ nghèo và cận nghèo theo năm rà soát", "## Poor and near-poor rates by review year"),
    "overview.groups": (
        "## Theo địa bàn trước sáp nhập và theo dân tộc",
        "## By pre-2025 province and by ethnicity",
    ),
    "overview.profile": (
        "## Hồ sơ thiếu hụt đa chiều (Alkire–Foster)",
        "## Deprivation profile (Alkire–Foster)",
    ),
    "overview.chart_poor": (
        "Tỷ lệ hộ nghèo toàn tỉnh, {first}–{last}",
        "Poor-household rate of the province, {first}–{last}",
    ),
    "overview.chart_near": (
        "Tỷ lệ hộ cận nghèo toàn tỉnh, {first}–{last}",
        "Near-poor rate of the province, {first}–{last}",
    ),
    "overview.chart_area": (
        "Tỷ lệ hộ nghèo theo địa bàn trước sáp nhập, {first}–{last}",
        "Poor-household rate by pre-2025 province, {first}–{last}",
    ),
    "overview.chart_minority": (
        "Tỷ lệ hộ nghèo: hộ dân tộc thiểu số và hộ dân tộc Kinh, {first}–{last}",
        "Poor-household rate of ethnic-minority and Kinh households, {first}–{last}",
    ),
    "overview.chart_profile": ("{measure}, kỳ rà soát {year}", "{measure}, {year} review"),
    "overview.table": (
        "Tỷ lệ hộ nghèo chính thức và các chỉ số Alkire–Foster theo năm rà soát",
        "Official poor-household rate and the Alkire–Foster measures by review year",
    ),
    "overview.maps": (
        "## Bản đồ nghèo theo xã, phường, kỳ rà soát {year}\n\nBản đồ dùng ranh giới chính thức khi có tệp ranh "
        "giới; nếu không, các xã được vẽ bằng sơ đồ minh họa (ghi rõ trên bản đồ). Xã có quá ít hộ được tô xám, "
        "không công bố số liệu.",
        "## Poverty maps by commune, {year} review\n\nThe maps use the official boundaries when a boundary file "
        "is available; otherwise the communes are drawn as an illustrative diagram (said on the map). Communes "
        "with too few households are grey, their figures not published.",
    ),
    "overview.change": (
        "### Thay đổi tỷ lệ hộ nghèo giữa kỳ rà soát {start} và {end}",
        "### Change in the poor-household rate between the {start} and {end} reviews",
    ),
    "overview.lisa": (
        "### Cụm nghèo (LISA), kỳ rà soát {year}\n\nChỉ số Moran cục bộ của tỷ lệ hộ nghèo theo các xã liền kề; "
        "xã không công bố số liệu không đưa vào phân tích.",
        "### Hot spots (LISA), {year} review\n\nLocal Moran's I of the poor-household rate over adjacent "
        "communes; communes whose figures are not published are left out.",
    ),
    "overview.moran": ("Chỉ số Moran toàn cục của tỷ lệ hộ nghèo", "Global Moran's I of the poor-household rate"),
    # 02 credit
    "credit.title": (
        "# Tác động của vốn vay chính sách đến thoát nghèo, các kỳ rà soát {first}–{last}",
        "# The effect of policy credit on leaving poverty, reviews {first}–{last}",
    ),
    "credit.lead": (
        "Hộ vay vốn không được chọn ngẫu nhiên: hộ có ý chí làm ăn cao hơn vừa dễ vay vốn vừa dễ thoát nghèo, nên "
        "so sánh thô giữa hộ vay và hộ không vay phóng đại tác động. Các ước lượng đáng tin cậy so sánh hộ vay "
        "trong từng năm với hộ có hoàn cảnh như nhau tại cùng kỳ rà soát nhưng vay muộn hơn.",
        "Borrowers are not chosen at random: households with more drive both borrow more easily and leave "
        "poverty more easily, so the naive comparison of borrowers and non-borrowers overstates the effect. The "
        "credible estimates compare each year's borrowers with households in the same situation at the same "
        "review that borrow later.",
    ),
    "credit.compare": ("## So sánh thô và ước lượng đáng tin cậy", "## Naive versus credible estimates"),
    "credit.event": (
        "## Trước và sau khi vay\n\nCác kỳ trước khi vay phải gần bằng không; các kỳ sau cho thấy tác động thay "
        "đổi thế nào theo thời gian.",
        "## Before and after the loan\n\nThe reviews before the loan should be near zero; those after show how "
        "the effect evolves.",
    ),
    "credit.balance": (
        "## Cân bằng đặc điểm trước khi vay\n\nSo với hộ vay muộn hơn, hai nhóm đã giống nhau; so với hộ chưa "
        "từng vay, hai nhóm khác nhau, và gia trọng theo đặc điểm quan sát được không loại bỏ được khác biệt ở "
        "những đặc điểm không quan sát được.",
        "## Covariate balance before the loan\n\nAgainst households that borrow later the groups already look "
        "alike; against never-borrowers they differ, and weighting on what the data show cannot remove what "
        "they do not show.",
    ),
    "credit.dose": ("## Số tiền vay", "## Loan amount"),
    "credit.groups": (
        "## Tác động theo nhóm hộ\n\nHộ dân tộc thiểu số, địa bàn trước sáp nhập, xã đặc biệt khó khăn, và các "
        "chương trình cho vay.",
        "## Effect by group\n\nEthnic minorities, the pre-merger provinces, disadvantaged communes, and the "
        "lending programmes.",
    ),
    "credit.lending": (
        "## Quy mô cho vay so với số liệu tham chiếu\n\nCác con số cho vay của hộ tại kỳ rà soát {year} đặt cạnh "
        "khoảng giá trị mà Ngân hàng Chính sách xã hội và báo chí công bố (cả nước, Thái Nguyên và Bắc Kạn cũ, "
        "các năm gần đây). Khoản vay còn dư nợ nếu đã giải ngân trước ngày 31/12/{year} và chưa hết hạn; dư nợ "
        "tính cả khoản vay đến khi đáo hạn, vì tệp khoản vay không có lịch trả nợ. Khoảng tham chiếu rộng vì số "
        "liệu gốc là của cả nước hoặc tỉnh cũ, của năm khác và đã được làm tròn: chúng dùng để kiểm tra độ hợp lý, "
        "không phải số liệu thống kê của tỉnh.",
        "## Lending against the reference figures\n\nThe household lending at the {year} review next to the "
        "ranges VBSP and the press report (national, old Thai Nguyen and old Bac Kan, recent years). A loan is "
        "outstanding if disbursed by 31 December {year} and not yet due; the whole amount counts until it is "
        "due, as the loan file carries no repayment schedule. The ranges are wide because the figures behind "
        "them are national or of the old provinces, of other years and rounded: they are a sanity check, not "
        "statistics of the province.",
    ),
    "credit.lending_table": (
        "Cho vay hộ nghèo, cận nghèo và mới thoát nghèo tại kỳ rà soát {year} và khoảng tham chiếu",
        "Lending to poor, near-poor and newly escaped households at the {year} review, and the reference ranges",
    ),
    "credit.lending_verdict": (
        "{inside} trên {known} chỉ tiêu nằm trong khoảng tham chiếu.",
        "{inside} of {known} figures lie in their reference range.",
    ),
    "credit.lending_planted": (
        "Dữ liệu là dữ liệu mô phỏng: tác động cài sẵn của một khoản vay lên khả năng thoát nghèo ở kỳ rà soát "
        "sau là {effect} điểm phần trăm, mức vừa phải vì các đánh giá đã công bố về vốn vay của Ngân hàng Chính "
        "sách xã hội (Nguyễn Việt Cường và van den Berg; Khoi và cộng sự 2014; Luan và cộng sự 2016) thấy tác "
        "động nhỏ và thường không có ý nghĩa thống kê.",
        "The data are synthetic: the planted effect of a loan on leaving poverty by the next review is {effect} "
        "percentage points, moderate because the published evaluations of VBSP credit (Nguyen Viet Cuong and "
        "van den Berg; Khoi et al. 2014; Luan et al. 2016) find small and often insignificant effects.",
    ),
    "credit.cost": ("## Chi phí cho mỗi hộ thoát nghèo", "## Credit per household lifted out of poverty"),
    "credit.simulation": (
        "## Kiểm tra bằng mô phỏng\n\nTrên các bộ dữ liệu mô phỏng có tác động biết trước (bằng không hoặc "
        "dương), khoảng tin cậy 95% của mỗi phương pháp chứa giá trị thật bao nhiêu lần? Phương pháp tốt đạt "
        "khoảng 95% ở mọi cỡ mẫu; so sánh thô thì không.",
        "## Simulation check\n\nOn synthetic panels with a known effect, zero or positive, how often does each "
        "95% interval hold the truth? A sound estimator does so about 95% of the time at every panel size; the "
        "naive comparison does not.",
    ),
    "credit.forest_methods": ("Tác động theo phương pháp ước lượng", "Effect by estimator"),
    "credit.forest_groups": ("Tác động theo nhóm hộ", "Effect by group of households"),
    "credit.forest_programmes": ("Tác động theo chương trình cho vay", "Effect by lending programme"),
    "credit.channels": (
        "## Theo tổ chức nhận ủy thác\n\nNgân hàng Chính sách xã hội cho vay hộ nghèo, hộ cận nghèo và hộ mới "
        "thoát nghèo qua bốn tổ chức chính trị – xã hội nhận ủy thác (Hội Liên hiệp Phụ nữ, Hội Nông dân, Hội Cựu "
        "chiến binh, Đoàn Thanh niên) và các tổ tiết kiệm và vay vốn ở thôn, xóm. Bảng dưới tính các khoản vay từ "
        "năm {first} đến năm {last}. Độ bao phủ là tỷ lệ hộ đủ điều kiện vay (theo kết quả rà soát cuối năm trước "
        "năm vay) đã được vay qua từng tổ chức trong năm đủ điều kiện. Tỷ lệ nợ quá hạn là tỷ lệ khoản vay còn nợ "
        "gốc quá hạn, kèm khoảng tin cậy 95% tính theo cụm xã, vì các hộ cùng xã, cùng tổ chịu chung rủi ro.",
        "## By entrusted organisation\n\nThe Vietnam Bank for Social Policies lends to poor, near-poor and newly "
        "escaped households through four mass organisations (Women's Union, Farmers' Union, Veterans' "
        "Association, Youth Union) and their savings-and-credit groups in villages. The table counts the loans of "
        "{first} to {last}. Coverage is the share of households eligible to borrow (at the review at the end of "
        "the year before the loan) that borrowed through each organisation in a year they were eligible. The "
        "overdue share is the share of loans with overdue principal, with a 95% interval clustered by commune, "
        "as households of one commune and one group share risk.",
    ),
    "credit.channels_table": (
        "Vốn vay chính sách theo tổ chức nhận ủy thác, {first}–{last} (độ bao phủ trên {eligible} hộ đủ điều kiện)",
        "Policy loans by entrusted organisation, {first}–{last} (coverage of {eligible} eligible households)",
    ),
    "credit.channels_effect": (
        "Tác động của vốn vay theo tổ chức nhận ủy thác khoản vay đầu tiên của hộ: mỗi tổ chức so sánh hộ vay với "
        "các hộ cùng tổ chức sẽ vay muộn hơn. Tác động khác nhau phản ánh các hộ mà mỗi tổ chức tiếp cận, không "
        "phải hiệu quả riêng của tổ chức. Hãy đọc khoảng tin cậy, không chỉ giá trị ước lượng.",
        "The effect of credit by the organisation entrusted with the household's first loan: each organisation's "
        "borrowers are compared with households of the same organisation that borrow later. Differences reflect "
        "the households each organisation reaches, not its own effect. Read the intervals, not only the estimates.",
    ),
    "credit.channels_none": (
        "Tệp khoản vay không có cột tổ chức nhận ủy thác, nên phần này không được tính.",
        "The loan file does not name the entrusted organisation, so this section is not computed.",
    ),
    "credit.channels_test": (
        "Kiểm định tác động bằng nhau giữa các tổ chức: F({df}, {df_denom}) = {stat}, p = {p}.",
        "Test of equal effects across organisations: F({df}, {df_denom}) = {stat}, p = {p}.",
    ),
    "credit.channels_no_test": (
        "Chưa đủ tổ chức có đủ số hộ vay để so sánh tác động.",
        "Too few organisations with enough borrowers to compare their effects.",
    ),
    "credit.forest_channels": ("Tác động theo tổ chức nhận ủy thác", "Effect by entrusted organisation"),
    "credit.balance_later": (
        "Cân bằng đặc điểm trước khi vay: so với hộ vay muộn hơn",
        "Covariate balance before the loan: against households that borrow later",
    ),
    "credit.balance_never": (
        "Cân bằng đặc điểm trước khi vay: so với hộ chưa từng vay",
        "Covariate balance before the loan: against households that never borrow",
    ),
    # 03 targets
    "targets.title": (
        "# Mục tiêu giảm nghèo giai đoạn 2026–2030: kiểm định dự báo, quy đổi chuẩn nghèo và yêu cầu đối với từng xã",
        "# Poverty-reduction targets for 2026–2030: tested projections, rebasing to the new standard and what "
        "each commune must achieve",
    ),
    "targets.lead": (
        "Trước khi dự báo, mỗi mô hình được kiểm định: ước lượng trên các kỳ rà soát trước, dự báo các kỳ sau mà "
        "mô hình chưa thấy, rồi so với kết quả thực tế. Xác suất đạt mục tiêu được tính bằng mô hình mặc định; "
        "khi mô hình này không đạt kiểm định, xác suất chỉ được xem là kịch bản tham khảo, như kết quả của các mô "
        "hình khác. Các mục tiêu của tỉnh chưa được xác nhận trong văn bản chính thức được đánh dấu và có thể "
        "thay đổi.",
        "Before projecting, every model is tested: fitted on the earlier reviews, it predicts later reviews it "
        "has not seen, which are compared with what was recorded. The probabilities of meeting a target come "
        "from the package's model; when it does not pass its test they are labelled a scenario, like the results "
        "of the other models. Province targets not confirmed in an official document are marked and can be "
        "changed.",
    ),
    "targets.backtest": (
        "## Kiểm định dự báo trên các kỳ rà soát đã qua\n\nMỗi mô hình được ước lượng trên các kỳ rà soát đến một "
        "năm và so với các kỳ sau, theo cả hai chuẩn nghèo (mọi kỳ được phân loại lại): sai số của tỷ lệ dự báo "
        "và tỷ lệ kết quả thực tế nằm trong khoảng dự báo.",
        "## Testing the projections on past reviews\n\nEvery model is fitted on the reviews up to a year and "
        "compared with the later ones, under both standards (every review reclassified): the errors of the "
        "expected rate and how often the recorded rate falls inside the prediction interval.",
    ),
    "targets.scores_groups": (
        "Sai số dự báo theo chuẩn {standard}: toàn tỉnh, theo dân tộc và theo xã đặc biệt khó khăn",
        "Projection errors under the {standard} standard: province, by ethnicity and by disadvantaged communes",
    ),
    "targets.scores_communes": (
        "Sai số dự báo theo chuẩn {standard}: từng xã, phường",
        "Projection errors under the {standard} standard: each commune",
    ),
    "targets.rebase": (
        "## Quy đổi sang chuẩn nghèo mới\n\nMọi kỳ rà soát được phân loại theo cả hai chuẩn. Chênh lệch giữa hai "
        "chuẩn thay đổi theo năm, nên dự báo theo chuẩn mới nối tiếp chuỗi đã phân loại lại thay vì cộng chênh "
        "lệch của một năm cho mọi năm.",
        "## Rebasing to the new standard\n\nEvery review is classified under both standards. The gap between "
        "them moves from year to year, so projections on the new standard continue the reclassified series "
        "instead of adding one year's gap to every year.",
    ),
    "targets.targets": (
        "## Mục tiêu và những điểm không nhất quán",
        "## The targets, and where they contradict each other or the data",
    ),
    "targets.projections": (
        "## Dự báo đến năm 2030\n\nMô hình dùng để tính xác suất, và các mô hình khác như kịch bản tham khảo.",
        "## Projections to 2030\n\nThe model behind the probabilities, and the other models as labelled scenarios.",
    ),
    "targets.groups": (
        "## Mục tiêu theo nhóm\n\nXác suất đạt mục tiêu là của từng mô hình, và các mô hình có thể khác nhau.",
        "## Group targets\n\nA probability of meeting a target is the model's, and the models can disagree.",
    ),
    "targets.communes": (
        "## Yêu cầu đối với từng xã\n\nMục tiêu toàn tỉnh được chia cho các xã không có mục tiêu riêng (mặc định "
        "cùng mức giảm tương đối ở mọi xã) để cộng lại bằng lộ trình của tỉnh; các xã được xếp theo phần đóng góp "
        "vào khoảng cách của tỉnh.",
        "## What each commune must achieve\n\nA province-wide target is shared among the communes it does not "
        "name (the same relative fall everywhere by default), so that they add up to the province path; "
        "communes are ranked by what they contribute to the province's gap.",
    ),
    "targets.fan_province": (
        "Toàn tỉnh: dự báo {start}–{end} theo mô hình «{model}»",
        "Province: projection {start}–{end}, «{model}» model",
    ),
    "targets.fan_commune": (
        "{name}: dự báo {start}–{end} và lộ trình của xã",
        "{name}: projection {start}–{end} and its own path",
    ),
    "targets.gap_bars": (
        "{n} xã, phường có khoảng cách lớn nhất so với mục tiêu năm {year} (điểm phần trăm)",
        "The {n} communes furthest from their {year} target (percentage points)",
    ),
    "targets.gap_map": (
        "Bản đồ khoảng cách giữa dự báo và mục tiêu năm {year}, mọi xã, phường",
        "Map of the gap between projection and target in {year}, every commune",
    ),
    "targets.other": ("Các mô hình cho xác suất tương tự nhau.", "The models agree."),
    # 04 targeting
    "targeting.title": (
        "# Nhắm đối tượng tín dụng chính sách, kỳ rà soát {year}: hộ đủ điều kiện, độ bao phủ, nguy cơ tái nghèo "
        "và phân bổ vốn",
        "# Targeting policy credit, {year} review: eligible households, coverage, risk of falling back and allocation",
    ),
    "targeting.lead": (
        "Hộ đủ điều kiện vay vốn trong một năm được xác định theo kết quả rà soát cuối năm trước đó (hộ nghèo, hộ "
        "cận nghèo, hộ mới thoát nghèo trong thời hạn quy định). Bảng và biểu đồ chỉ công bố số liệu tổng hợp; "
        "số hộ dưới ngưỡng không được công bố.",
        "The households eligible for loans in a year are those of the previous year-end review (poor, near-poor, "
        "and newly escaped within the set period). Tables and charts publish aggregates only; counts under the "
        "limit are not published.",
    ),
    "targeting.eligible": (
        "## Hộ đủ điều kiện theo chương trình\n\nDanh sách của một kỳ rà soát áp dụng cho các khoản vay năm sau.",
        "## Eligible households by programme\n\nThe lists of a review govern the loans of the following year.",
    ),
    "targeting.accuracy": (
        "## Độ chính xác của việc cho vay\n\nĐộ bao phủ hộ đủ điều kiện, sai sót bỏ sót (hộ đủ điều kiện chưa được "
        "vay) và sai sót đưa nhầm (khoản vay cho hộ không đủ điều kiện), chung và theo dân tộc.",
        "## Targeting accuracy\n\nCoverage of the eligible, exclusion errors (eligible but unreached) and "
        "inclusion errors (loans to the ineligible), overall and by ethnicity.",
    ),
    "targeting.all_hidden": (
        "{what} theo xã, phường (khoản vay năm {year}) không vẽ thành biểu đồ: ở mọi xã, phường, số hộ hoặc số "
        "khoản vay quá ít để công bố (dưới {n}).",
        "{what} by commune (loans of {year}) is not charted: in every commune the households or loans are too "
        "few to publish (fewer than {n}).",
    ),
    "targeting.risk": (
        "## Nguy cơ tái nghèo\n\nMô hình logit ước lượng trên các hộ đã thoát nghèo trước đây và kiểm định ngoài "
        "thời gian trên kỳ rà soát gần nhất, so với điểm đơn giản tốt nhất trên cùng các hộ. Chỉ công bố số hộ "
        "theo xã; danh sách hộ chỉ chuyển cho cán bộ theo dõi, không đưa vào báo cáo.",
        "## Risk of falling back\n\nA logit fitted on earlier exits and tested out of time on the latest review, "
        "compared on the same households with the strongest simple score. Only counts by commune are published; "
        "the list of households goes to the officials who follow them up, never into a report.",
    ),
    "targeting.priority": (
        "## Thứ tự ưu tiên các xã, phường\n\nChỉ số minh bạch (tỷ lệ nghèo, độ sâu nghèo FGT1, số hộ nghèo, tỷ lệ "
        "hộ dân tộc thiểu số, tỷ lệ hộ có nguy cơ tái nghèo; trọng số công bố) và độ ổn định khi thay đổi ngẫu "
        "nhiên trọng số.",
        "## Commune priority\n\nA transparent index (poverty rate, depth FGT1, number of poor, ethnic-minority "
        "share, share at risk of falling back; documented weights) and its stability under random weights.",
    ),
    "targeting.allocation": (
        "## Phân bổ ngân sách tín dụng\n\nPhân bổ để tối đa số hộ thoát nghèo kỳ vọng (mức vay tối đa mỗi hộ, số "
        "hộ đủ điều kiện mỗi xã, mức sàn cho các xã đặc biệt khó khăn), so với phân bổ theo số hộ nghèo.",
        "## Allocating the credit budget\n\nAllocation to maximise expected exits from poverty (per-household "
        "ceiling, eligible households per commune, a floor for disadvantaged communes), against allocation in "
        "proportion to the number of poor.",
    ),
    # 05 small areas
    "sae.title": (
        "# Ước lượng tỷ lệ hộ nghèo cho xã, phường từ mẫu khảo sát năm {year} (mô hình Fay–Herriot)",
        "# Small-area estimates of the poor-household rate by commune from a {year} survey sample (Fay–Herriot)",
    ),
    "sae.lead": (
        "Một cuộc khảo sát hộ gia đình chỉ phỏng vấn vài hộ ở mỗi xã, quá ít để ước lượng trực tiếp cho từng xã. "
        "Trang này rút một mẫu hai giai đoạn (xã, rồi hộ) từ kết quả rà soát, tính ước lượng trực tiếp theo thiết "
        "kế mẫu, kết hợp với các biến phụ trợ cấp xã từ số liệu hành chính bằng mô hình Fay–Herriot (EBLUP), rồi "
        "so sánh cả hai với giá trị thật của tổng điều tra.",
        "A household survey interviews only a few households in each commune, too few for a direct estimate of "
        "each. This page draws a two-stage sample (communes, then households) from the review, computes direct "
        "design-based estimates, combines them with commune covariates from the administrative data in a "
        "Fay–Herriot model (EBLUP), and compares both with the census truth.",
    ),
    "sae.estimates": ("## Mẫu, ước lượng trực tiếp và EBLUP", "## Sample, direct estimates and EBLUPs"),
    "sae.precision": (
        "## Độ chính xác\n\nHệ số biến thiên của ước lượng trực tiếp và của EBLUP.",
        "## Precision\n\nCoefficients of variation of the direct estimates and of the EBLUPs.",
    ),
    "sae.maps": (
        "## Bản đồ\n\nƯớc lượng trực tiếp, EBLUP và hệ số biến thiên của EBLUP.",
        "## Maps\n\nThe direct estimates, the EBLUPs and the EBLUPs' coefficients of variation.",
    ),
    "sae.checks": (
        "## Kiểm tra mô hình\n\nPhân phối chuẩn của phần dư chuẩn hóa và của hiệu ứng xã, và các hệ số của mô hình.",
        "## Model checks\n\nNormality of the standardised residuals and area effects, and the model's coefficients.",
    ),
    "sae.benchmark": (
        "## Cân chỉnh theo tỷ lệ toàn tỉnh\n\nEBLUP được nhân với một hệ số để trung bình có trọng số theo số hộ "
        "bằng tỷ lệ toàn tỉnh ước lượng trực tiếp từ toàn bộ mẫu.",
        "## Benchmarking\n\nThe EBLUPs are scaled so that their household-weighted mean equals the province rate "
        "estimated directly from the whole sample.",
    ),
    "sae.map_direct": (
        "Ước lượng trực tiếp tỷ lệ hộ nghèo, {year}",
        "Direct estimate of the poor-household rate, {year}",
    ),
    "sae.map_eblup": ("EBLUP tỷ lệ hộ nghèo, {year}", "EBLUP of the poor-household rate, {year}"),
    "sae.label_direct": ("Ước lượng trực tiếp", "Direct estimate"),
    "sae.label_cv": ("Hệ số biến thiên", "Coefficient of variation"),
    "sae.map_cv": ("Hệ số biến thiên của EBLUP, {year}", "Coefficient of variation of the EBLUP, {year}"),
}


def title(key: str, lang: str = "vi", **fields: object) -> str:
    """The text of :data:`TEXT` ``key`` in ``lang``, its ``{fields}`` filled in.

    Examples
    --------
    >>> title("credit.balance_never", "en")
    'Covariate balance before the loan: against households that never borrow'
    """
    return pick(TEXT, key, lang).format(**fields)


def text(keys: str | Sequence[str], lang: str = "vi", **fields: object) -> Markdown:
    """Headings or sentences of :data:`TEXT` in ``lang``, their ``{fields}`` filled in, as Markdown for a page.

    Examples
    --------
    >>> text("overview.change", "en", start=2021, end=2025).data
    '### Change in the poor-household rate between the 2021 and 2025 reviews'
    """
    keys = [keys] if isinstance(keys, str) else list(keys)
    return Markdown("\n\n".join(title(k, lang, **fields) for k in keys))


def retitle(fig: go.Figure, key: str, lang: str = "vi", **fields: object) -> go.Figure:
    """``fig`` with the title of :data:`TEXT` ``key``: each chart of a page says what sets it apart."""
    return fig.update_layout(title_text=title(key, lang, **fields))


def names() -> pd.Series:
    """Commune names by code (the 2025 registry)."""
    from ..data import registry

    return registry.units().set_index("commune_code")["name"]


def _c(source: str, vi: str, en: str, kind: str = "text", digits: int | None = None, **kw: Any) -> Column:
    return Column(source, vi, en, kind, digits, **kw)


def _vi_decimal(value: float, lang: str, digits: int) -> str:
    return format_number(value, lang, digits=digits)


def protected_counts(
    table: pd.DataFrame,
    keys: Sequence[str],
    counts: Sequence[str],
    *,
    rates: Mapping[str, str] | None = None,
    totals: Mapping[str, Any] | None = None,
    denominator: str = "households",
    lang: str = "vi",
    min_cell: int | None = None,
    rate_digits: int = 2,
) -> pd.DataFrame:
    """``table`` with its household counts and their rates as the disclosure rule publishes them.

    Counts under the limit read ``< 10``, counts hidden to protect another ``–``, rates of a
    hidden count a band (``< 20%``) or ``–``; other columns are kept as they are.  Rates are
    recomputed from the counts (the same values the table holds when they are count ÷
    denominator).

    Examples
    --------
    >>> t = pd.DataFrame({"commune_code": ["a", "b"], "households": [120, 300], "at_risk": [4, 30],
    ...                   "at_risk_rate": [4 / 120, 0.1], "name": ["A", "B"]})
    >>> protected_counts(t, ["commune_code"], ["at_risk"], rates={"at_risk_rate": "at_risk"})[
    ...     ["at_risk", "at_risk_rate", "name"]].to_dict("list")
    {'at_risk': ['< 10', 30], 'at_risk_rate': ['< 10%', 0.1], 'name': ['A', 'B']}
    """
    rates = dict(rates or {})
    layout = Layout(list(keys), list(counts), denominator=denominator, rates=rates, totals=dict(totals or {}))
    p = protect(table, layout, min_cell=min_cell, rate_digits=rate_digits)
    values, hidden = p.values, p.hidden
    shown = p.display(lang)
    out = table.reset_index(drop=True).copy()
    for c in (*layout.columns, *layout.rates):
        cell = values[c].astype(object).where(~hidden[c].to_numpy(), shown[c])
        out[c] = cell.to_numpy()
    return out


# ----------------------------------------------------------------------------- 01 overview


def overview_table(province: pd.DataFrame, af: pd.DataFrame, *, lang: str = "vi") -> Readable:
    """Households, poor and near-poor households and rates, and H, A and M0, by review year (the province)."""
    check_lang(lang)
    kw = af_cutoff(af)
    measures = ["H", "A", "M0"]
    head = af[af["measure"].isin(measures) & af["review_year"].notna()].pivot(
        index="review_year", columns="measure", values="value"
    )
    head.index = head.index.astype(int)
    t = protected_counts(
        province, ["review_year"], ["poor", "near_poor"], rates={"poor_rate": "poor", "near_poor_rate": "near_poor"}
    )
    t = t.merge(head[measures].reset_index(), on="review_year", how="left")
    cols = [
        _c("review_year", "Năm rà soát", "Review year", "code"),
        _c("households", "Số hộ (hộ)", "Households", "count"),
        _c("poor", "Hộ nghèo (hộ)", "Poor households", "count"),
        _c("poor_rate", label("poor_rate", "vi"), label("poor_rate", "en"), "percent", 2),
        _c("near_poor", "Hộ cận nghèo (hộ)", "Near-poor households", "count"),
        _c("near_poor_rate", label("near_poor_rate", "vi"), label("near_poor_rate", "en"), "percent", 2),
        _c("H", af_label("H", lang, **kw), af_label("H", lang, **kw), "percent", 2),
        _c("A", af_label("A", lang, **kw), af_label("A", lang, **kw), "percent", 2),
        _c("M0", af_label("M0", lang, **kw), af_label("M0", lang, **kw), "ratio", 4),
    ]
    return readable(t, cols, lang=lang, caption=pick(TEXT, "overview.table", lang))


def moran_table(moran: pd.DataFrame, *, lang: str = "vi") -> Readable:
    """The global Moran's I of a LISA analysis: statistic, expectation, z, permutation p-value, communes."""
    cols = [
        _c("value", "Chỉ số Moran I", "Moran's I", "ratio", 3),
        _c("expected", "Giá trị kỳ vọng khi không có cụm", "Expected without clustering", "ratio", 3),
        _c("z", "Thống kê z", "z statistic", "ratio", 2),
        _c("p_value", "Giá trị p (hoán vị)", "p-value (permutations)", "ratio", 3),
        _c("n", "Số xã, phường (xã)", "Communes", "count"),
        _c("permutations", "Số lần hoán vị", "Permutations", "count"),
    ]
    return readable(moran, cols, lang=lang, caption=pick(TEXT, "overview.moran", lang))


# ----------------------------------------------------------------------------- 02 credit


def _min_cell(min_cell: int | None) -> int:
    return int(config.MIN_CELL if min_cell is None else min_cell)


def _small(values: pd.Series, min_cell: int | None = None) -> pd.Series:
    """Counts of households with those from 1 to the limit − 1 written ``< limit``."""
    limit = _min_cell(min_cell)
    v = pd.to_numeric(values, errors="coerce")
    return values.astype(object).where(~((v > 0) & (v < limit)), f"< {limit}")


def dose_table(dose: Any, *, lang: str = "vi") -> Readable:
    """The effect by loan amount (dose–response), in percentage points, with the borrowers of each band."""
    check_lang(lang)
    c = dose.curve.copy()
    c["band"] = [
        f"{format_number(a, lang)}–{format_number(b, lang)}" for a, b in zip(c["amount_min_mvnd"], c["amount_max_mvnd"])
    ]
    hide = c["suppressed"].to_numpy(dtype=bool) if "suppressed" in c else np.zeros(len(c), bool)
    for col in ("effect", "se", "ci_lower", "ci_upper"):
        c[col] = c[col].mask(hide)
    c["n_treated"] = _small(c["n_treated"])
    cols = [
        _c("band", "Số tiền vay (triệu đồng)", "Loan amount (million VND)"),
        _c("effect", "Tác động (điểm %)", "Effect (points)", "points", 1, scale=100),
        _c("se", "Sai số chuẩn (điểm %)", "Standard error (points)", "points", 1, scale=100),
        _c("ci_lower", "Cận dưới 95% (điểm %)", "Lower 95% (points)", "points", 1, scale=100),
        _c("ci_upper", "Cận trên 95% (điểm %)", "Upper 95% (points)", "points", 1, scale=100),
        _c("n_treated", "Hộ vay (hộ)", "Borrowers", "count"),
    ]
    return readable(c, cols, lang=lang)


def cost_table(cost: Any, *, lang: str = "vi") -> Readable:
    """Credit disbursed per household lifted out of poverty, its interval, and what it rests on."""
    check_lang(lang)
    t = cost.to_frame().copy()
    t["n_borrowers"] = _small(t["n_borrowers"])
    t["interval"] = t["interval"].map(
        lambda v: {"fieller": "Fieller", "delta": ("phương pháp delta" if lang == "vi" else "delta method")}.get(v, v)
    )
    cols = [
        _c(
            "vnd_per_exit",
            "Vốn cho mỗi hộ thoát nghèo (triệu đồng)",
            "Credit per exit (million VND)",
            "money",
            0,
            scale=1e-6,
        ),
        _c("ci_lower", "Cận dưới 95% (triệu đồng)", "Lower 95% (million VND)", "money", 0, scale=1e-6),
        _c("ci_upper", "Cận trên 95% (triệu đồng)", "Upper 95% (million VND)", "money", 0, scale=1e-6),
        _c("effect", "Tác động mỗi khoản vay (điểm %)", "Effect per loan (points)", "points", 1, scale=100),
        _c(
            "credit_per_poor_borrower",
            "Vốn bình quân mỗi hộ nghèo vay (triệu đồng)",
            "Credit per poor borrower (million VND)",
            "money",
            1,
            scale=1e-6,
        ),
        _c("n_borrowers", "Hộ nghèo vay vốn (hộ)", "Poor borrowers", "count"),
        _c("exits", "Hộ thoát nghèo nhờ vốn vay (hộ)", "Exits due to credit", "ratio", 1),
        _c("interval", "Khoảng tin cậy", "Interval"),
    ]
    return readable(t, cols, lang=lang)


def _channel_name(code: str, lang: str) -> str:
    from ..data.schema import CHANNEL_NAMES

    if code in CHANNEL_NAMES:
        return pick(CHANNEL_NAMES, code, lang)
    return "Tất cả các tổ chức" if lang == "vi" else "All organisations"


def channel_table(
    results: Any, *, lang: str = "vi", area: str = "province", first: int | None = None, last: int | None = None
) -> Readable | Markdown:
    """Loans, borrowing households, coverage, average loan and overdue share by entrusted organisation.

    ``results`` is a :class:`povanalysis.impact.channels.ChannelResults` (or ``None`` when the
    loan file has no channel: a sentence says so).  Counts go through the disclosure rule, the
    organisations adding up to the row of all organisations: a count under the limit reads
    ``< 10`` and another is hidden (``–``) where the total would give it back; an overdue share
    resting on a hidden count is a band and its interval ``–``; coverage and average loan of a
    hidden count of households are ``–``.  The overdue share is printed to one decimal of a
    percent, as VBSP reports it.

    Examples
    --------
    >>> from povanalysis.impact.channels import ChannelResults
    >>> t = pd.DataFrame({"by": "province", "area": "province", "channel": ["women", "farmers", "veterans", "youth", "all"],
    ...     "loans": [400, 300, 120, 8, 828], "households": [400, 300, 120, 8, 828], "eligible": 2000,
    ...     "covered": [300, 200, 90, 6, 596], "coverage": [0.15, 0.1, 0.045, 0.003, 0.298],
    ...     "mean_amount": [55.0, 56.0, 57.0, 50.0, 55.5], "overdue_loans": [20, 12, 9, 0, 41],
    ...     "overdue_share": [0.05, 0.04, 0.075, 0.0, 41 / 828], "overdue_ci_lower": [0.03, 0.02, 0.04, 0.0, 0.035],
    ...     "overdue_ci_upper": [0.08, 0.07, 0.14, 0.3, 0.07], "deff": 1.0})
    >>> r = ChannelResults(t, pd.DataFrame(), (2022, 2025), "commune_code", "women", 0.05)
    >>> channel_table(r, lang="en").frame["Borrowing households"].tolist()  # 120 would give the 8 back
    ['400', '300', '–', '< 10', '828']
    """
    check_lang(lang)
    if results is None:
        return Markdown(title("credit.channels_none", lang))
    t = results.table[results.table["area"] == area].reset_index(drop=True)
    for c in ("loans", "households", "covered", "overdue_loans"):
        t[c] = t[c].astype("int64")
    keys, counts = ["channel"], ["households", "covered", "overdue_loans"]
    rates = {"overdue_share": "overdue_loans"}
    for totals in ({"channel": "all"}, {}):
        try:
            layout = Layout(keys, counts, denominator="loans", rates=rates, totals=totals)
            p = protect(t if totals else t[t["channel"] != "all"].reset_index(drop=True), layout, rate_digits=1)
            break
        except ValueError:  # households borrowing through two organisations: the rows do not add up to all
            continue
    shown = p.display(lang)
    out = (t if totals else t[t["channel"] != "all"]).reset_index(drop=True).copy()
    for c in (*layout.columns, *layout.rates):
        out[c] = p.values[c].astype(object).where(~p.hidden[c].to_numpy(), shown[c]).to_numpy()
    hidden_households = p.hidden["households"].to_numpy() | p.hidden["loans"].to_numpy()
    hidden_covered = p.hidden["covered"].to_numpy() | hidden_households
    hidden_share = p.hidden["overdue_loans"].to_numpy() | p.hidden["loans"].to_numpy()
    out["coverage"] = out["coverage"].astype(object).where(~hidden_covered, "–")
    out["mean_amount"] = out["mean_amount"].astype(object).where(~hidden_households, "–")
    out["interval"] = [
        "–"
        if hide or not np.isfinite(lo)
        else f"{format_number(100 * lo, lang, digits=1)}–{format_number(100 * hi, lang, digits=1)}"
        for hide, lo, hi in zip(hidden_share, out["overdue_ci_lower"], out["overdue_ci_upper"])
    ]
    out["name"] = [_channel_name(c, lang) for c in out["channel"]]
    eligible = int(t["eligible"].iloc[0]) if len(t) else 0
    cols = [
        _c("name", "Tổ chức nhận ủy thác", "Entrusted organisation"),
        _c("loans", "Khoản vay (khoản)", "Loans", "count"),
        _c("households", "Hộ vay (hộ)", "Borrowing households", "count"),
        _c("coverage", "Độ bao phủ hộ đủ điều kiện (%)", "Coverage of eligible households (%)", "percent", 1),
        _c("mean_amount", "Vay bình quân (triệu đồng)", "Average loan (million VND)", "money", 1),
        _c("overdue_share", "Tỷ lệ nợ quá hạn (%)", "Overdue share (%)", "percent", 1),
        _c("interval", "Khoảng tin cậy 95% (%)", "95% interval (%)"),
    ]
    first = results.loan_years[0] if first is None else first
    last = results.loan_years[-1] if last is None else last
    caption = title("credit.channels_table", lang, first=first, last=last, eligible=format_number(eligible, lang))
    if eligible < config.MIN_CELL:
        caption = title("credit.channels_table", lang, first=first, last=last, eligible=f"< {config.MIN_CELL}")
    return readable(out, cols, lang=lang, caption=caption, note=_protect_note(lang))


#: Each figure of :data:`povanalysis.impact.lending.REFERENCE` on a page: its name, its unit and
#: digits, and the source in each language.
_LENDING_ROWS: dict[str, tuple[tuple[str, str], str, int, tuple[str, str]]] = {
    "borrower_share": (
        (
            "Hộ đang có dư nợ vay (chương trình hộ nghèo, cận nghèo, mới thoát nghèo)",
            "Households with an outstanding loan (poor, near-poor, newly escaped programmes)",
        ),
        "%",
        1,
        ("NHCSXH, cả nước (2019)", "VBSP, national (2019)"),
    ),
    "loans_per_1000": (
        ("Khoản vay giải ngân trong năm trên 1.000 hộ", "Loans disbursed in the year per 1,000 households"),
        "",
        1,
        ("NHCSXH, Thái Nguyên cũ (2023)", "VBSP, old Thai Nguyen (2023)"),
    ),
    "average_loan": (
        ("Khoản vay bình quân giải ngân trong năm (triệu đồng)", "Average loan disbursed in the year (million VND)"),
        "",
        1,
        ("NHCSXH, cả nước (2019); Bắc Kạn cũ (2025)", "VBSP, national (2019); old Bac Kan (2025)"),
    ),
    "outstanding_per_borrower": (
        ("Dư nợ bình quân một hộ vay (triệu đồng)", "Outstanding principal per borrowing household (million VND)"),
        "",
        1,
        ("NHCSXH, Thái Nguyên cũ (2023); cả nước (2024)", "VBSP, old Thai Nguyen (2023); national (2024)"),
    ),
    "mix_poor": (
        ("Hộ vay theo chương trình hộ nghèo", "Borrowers under the poor programme"),
        "%",
        1,
        ("NHCSXH, cả nước (2019)", "VBSP, national (2019)"),
    ),
    "mix_near_poor": (
        ("Hộ vay theo chương trình hộ cận nghèo", "Borrowers under the near-poor programme"),
        "%",
        1,
        ("NHCSXH, cả nước (2019)", "VBSP, national (2019)"),
    ),
    "mix_newly_escaped": (
        ("Hộ vay theo chương trình hộ mới thoát nghèo", "Borrowers under the newly escaped programme"),
        "%",
        1,
        ("NHCSXH, cả nước (2019)", "VBSP, national (2019)"),
    ),
    "poor_borrowers_per_poor": (
        ("Hộ vay chương trình hộ nghèo trên một hộ nghèo", "Poor-programme borrowers per poor household"),
        "",
        2,
        ("NHCSXH, cả nước (2019)", "VBSP, national (2019)"),
    ),
    "eligible_coverage": (
        ("Hộ đủ điều kiện vay đang có dư nợ", "Eligible households holding a loan"),
        "%",
        1,
        ("giả định, suy từ hai chỉ tiêu trên", "assumed, from the two figures above"),
    ),
    "overdue_share": (
        ("Nợ quá hạn trên tổng dư nợ", "Overdue principal of all outstanding"),
        "%",
        2,
        ("NHCSXH, Bắc Kạn cũ (2025); cả nước (2024–2025)", "VBSP, old Bac Kan (2025); national (2024–2025)"),
    ),
    "standard_jump": (
        (
            "Hộ nghèo và cận nghèo theo chuẩn Nghị định 351 so với chuẩn Nghị định 07 (lần)",
            "Poor and near-poor under Decree 351 against Decree 07 (times)",
        ),
        "",
        2,
        ("dự báo cả nước (cuối 2024)", "national projection (end-2024)"),
    ),
}


def lending_table(check: Any, *, lang: str = "vi") -> Readable:
    """The lending figures of a :class:`povanalysis.impact.lending.LendingCheck` with their ranges and sources.

    A figure resting on fewer households or loans than the publication limit reads ``–``
    (so does one that cannot be computed, e.g. the overdue share without an ``overdue``
    column); the verdict then reads ``–`` too.

    Examples
    --------
    >>> from povanalysis.impact.lending import LendingCheck, REFERENCE
    >>> t = REFERENCE.assign(name="", value=[12.0, 30, 50, 50, 36, 33, 31, 0.97, 55, 0.3, 2.5], count=5000,
    ...                      in_range=True)
    >>> lending_table(LendingCheck(t, 2025, "at_maturity"), lang="en").frame.iloc[0].tolist()
    ['Households with an outstanding loan (poor, near-poor, newly escaped programmes)', '12.0%', '7.0–15.0%', 'Yes', 'VBSP, national (2019)']
    """
    check_lang(lang)
    i = 0 if lang == "vi" else 1
    rows = []
    for r in check.table.itertuples():
        names, unit, digits, source = _LENDING_ROWS[r.key]
        shown = np.isfinite(r.value) and r.count >= config.MIN_CELL
        value = f"{format_number(r.value, lang, digits=digits)}{unit}" if shown else "–"
        band = f"{format_number(r.low, lang, digits=digits)}–{format_number(r.high, lang, digits=digits)}{unit}"
        verdict = (
            "–"
            if not shown or pd.isna(r.in_range)
            else pick({"y": ("Có", "Yes"), "n": ("Không", "No")}, "y" if r.in_range else "n", lang)
        )
        rows.append((names[i], value, band, verdict, source[i]))
    out = pd.DataFrame(rows, columns=["name", "value", "band", "verdict", "source"])
    cols = [
        _c("name", "Chỉ tiêu", "Figure"),
        _c("value", "Giá trị", "Value", "code"),
        _c("band", "Khoảng tham chiếu", "Reference range", "code"),
        _c("verdict", "Trong khoảng", "In range", "code"),
        _c("source", "Nguồn", "Source"),
    ]
    return readable(out, cols, lang=lang, caption=title("credit.lending_table", lang, year=check.review_year))


def lending_text(check: Any, truth: Mapping | None = None, *, lang: str = "vi") -> Markdown:
    """How many lending figures lie in their range and, on synthetic data, the planted effect and why it is moderate."""
    check_lang(lang)
    known = check.table["in_range"].notna() & (check.table["count"] >= config.MIN_CELL)
    inside = int(check.table.loc[known, "in_range"].astype(bool).sum())
    parts = [title("credit.lending_verdict", lang, inside=inside, known=int(known.sum()))]
    if truth and "credit_effect" in truth:
        parts.append(
            title("credit.lending_planted", lang, effect=format_number(100 * truth["credit_effect"], lang, digits=0))
        )
    return Markdown(" ".join(parts))


def channel_effect_text(effects: Any, lang: str = "vi") -> Markdown:
    """What the effects by entrusted organisation compare, and the test that they are equal (F and p; no stars).

    ``None`` (no channel in the loan file) gives nothing: the table's sentence says why.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> tests = pd.DataFrame({"by": ["channel"], "stat": [2.26], "df": [3], "df_denom": [91], "pvalue": [0.0861]})
    >>> channel_effect_text(SimpleNamespace(tests=tests), "vi").data.splitlines()[-1]
    'Kiểm định tác động bằng nhau giữa các tổ chức: F(3, 91) = 2,26, p = 0,086.'
    """
    check_lang(lang)
    if effects is None:
        return Markdown("")
    t = effects.tests[effects.tests["by"] == "channel"]
    if len(t) and int(t["df"].iloc[0]):
        r = t.iloc[0]
        test = title(
            "credit.channels_test",
            lang,
            df=int(r["df"]),
            df_denom=int(r["df_denom"]),
            stat=format_number(float(r["stat"]), lang, digits=2),
            p=format_number(float(r["pvalue"]), lang, digits=3),
        )
    else:
        test = title("credit.channels_no_test", lang)
    return Markdown(title("credit.channels_effect", lang) + "\n\n" + test)


def channel_forest(effects: Any, *, lang: str = "vi", truth: Mapping | float | None = None) -> go.Figure | Markdown:
    """Forest plot of the credit effect by entrusted organisation (a :func:`povanalysis.impact.studies.heterogeneity` result by channel).

    The organisations are named in ``lang``; suppressed groups are left out and counted in the
    title.  ``None`` (no channel in the loan file) gives nothing: the table's sentence says why.
    """
    from ..figures.impact import plot_forest

    check_lang(lang)
    if effects is None:
        return Markdown("")
    t = effects.table[effects.table["by"] == "channel"]
    frame = pd.DataFrame(
        {
            "name": [_channel_name(g, lang) for g in t["group"]],
            "effect": t["effect"].to_numpy(),
            "ci_lower": t["ci_lower"].to_numpy(),
            "ci_upper": t["ci_upper"].to_numpy(),
            "suppressed": t["suppressed"].to_numpy(dtype=bool),
        }
    )
    frame.attrs.update(outcome=effects.outcome, population=effects.population)
    return plot_forest(frame, truth=truth, lang=lang, title=title("credit.forest_channels", lang))


# ----------------------------------------------------------------------------- 03 targets

_AREAS = {"bac_kan": "bac_kan", "thai_nguyen": "thai_nguyen"}


def gap_table(gap: pd.DataFrame, *, by: str | None = None, lang: str = "vi") -> Readable:
    """Poor-household rates of every review under the old and the new standard, and the gap in points."""
    check_lang(lang)
    t = gap.copy()
    for col in ("rate_from", "rate_to", "gap"):
        t[col] = t[col].mask(t["suppressed"].to_numpy(dtype=bool))
    cols = []
    if by is not None:
        t[by] = [label(_AREAS.get(v, v), lang) for v in t[by]]
        cols.append(_c(by, label("old_area", lang), label("old_area", lang)))
    cols += [
        _c("review_year", "Năm rà soát", "Review year", "code"),
        _c("households", "Số hộ (hộ)", "Households", "count"),
        _c("rate_from", "Tỷ lệ hộ nghèo, chuẩn 2022–2025 (%)", "Poor rate, 2022–2025 standard (%)", "percent", 2),
        _c("rate_to", "Tỷ lệ hộ nghèo, chuẩn 2026–2030 (%)", "Poor rate, 2026–2030 standard (%)", "percent", 2),
        _c("gap", "Chênh lệch (điểm %)", "Gap (points)", "points", 2, scale=100, sign=True),
        _c("log_odds_ratio", "Log tỷ số chênh", "Log odds ratio", "ratio", 3),
        _c("log_odds_ratio_se", "Sai số chuẩn của log tỷ số chênh", "Its standard error", "ratio", 3),
    ]
    return readable(t, cols, lang=lang)


def area_gap_table(gap: pd.DataFrame, *, lang: str = "vi") -> Readable:
    """:func:`gap_table` by pre-2025 province."""
    return gap_table(gap, by="old_area", lang=lang)


def scores_table(
    bt: Any,
    *,
    levels: Sequence[str] = ("province", "minority", "disadvantaged", "commune"),
    standard: str | None = None,
    lang: str = "vi",
    caption: str = "",
) -> Readable:
    """The errors of a backtest by level, horizon and model (best interval score first), in points.

    The same figures as :func:`povanalysis.reports.prose.goals.readable_scores`, as numbers
    formatted for reading; ``standard`` keeps the comparisons under one standard (the page's),
    the workbook has both.
    """
    from .prose.goals import LEVEL_LABELS

    check_lang(lang)
    s = bt.scores()
    s = s[s["level"].isin(levels)].copy()
    if standard is not None:
        s = s[s["standard"] == standard]
    s["level"] = pd.Categorical(s["level"], categories=list(levels), ordered=True)
    s = s.sort_values(["standard", "level", "horizon", "interval_score"], kind="stable")
    s["level_text"] = [pick(LEVEL_LABELS, str(v), lang) if str(v) in LEVEL_LABELS else str(v) for v in s["level"]]
    s["model_text"] = [_model_name(m, lang) for m in s["model"]]
    cols = [] if standard is not None else [_c("standard", "Chuẩn nghèo", "Standard", "code")]
    if len(levels) > 1:
        cols.append(_c("level_text", "Cấp", "Level"))
    cols += [
        _c("horizon", "Dự báo trước (năm)", "Years ahead", "count"),
        _c("model_text", "Mô hình", "Model"),
        _c("folds", "Số lần so sánh", "Comparisons", "count"),
        _c("mean_error", "Sai số bình quân (điểm %)", "Mean error (points)", "points", 2, scale=100),
        _c(
            "mean_abs_error",
            "Sai số tuyệt đối bình quân (điểm %)",
            "Mean absolute error (points)",
            "points",
            2,
            scale=100,
        ),
        _c(
            "max_abs_error",
            "Sai số tuyệt đối lớn nhất (điểm %)",
            "Largest absolute error (points)",
            "points",
            2,
            scale=100,
        ),
        _c("coverage", "Tỷ lệ nằm trong khoảng dự báo (%)", "Share inside the interval (%)", "percent", 0),
        _c(
            "interval_score",
            "Điểm khoảng (càng thấp càng tốt)",
            "Interval score (lower is better)",
            "points",
            2,
            scale=100,
        ),
    ]
    return readable(s, cols, lang=lang, caption=caption)


_STATUS = {
    True: ("Đã xác nhận trong văn bản chính thức", "Confirmed in an official document"),
    False: ("Chưa xác nhận: giả định, có thể thay đổi", "Unconfirmed: an assumption that can change"),
}


def target_list(table: pd.DataFrame, *, lang: str = "vi") -> Readable:
    """The targets (:func:`povanalysis.reports.prose.goals.target_table`) for reading: status in words, sources in full."""
    check_lang(lang)
    t = table.copy()
    i = 0 if lang == "vi" else 1
    t["status"] = [_STATUS[bool(v)][i] for v in t["confirmed"]]
    t["period"] = [f"{a}–{b}" for a, b in zip(t["start_year"], t["end_year"])]
    cols = [
        _c("label", "Mục tiêu", "Target"),
        _c("population", "Phạm vi", "Covers"),
        _c("rule", "Mức giảm hoặc mức cần đạt", "Rule"),
        _c("period", "Giai đoạn", "Period", "code"),
        _c("status", "Tình trạng", "Status"),
    ]
    if lang == "en":
        cols.append(_c("source", "Nguồn", "Source"))
    return readable(t, cols, lang=lang)


_CONFLICTS = {
    "insufficient": ("Chưa đủ", "Insufficient"),
    "unattainable": ("Không thể đạt như đã viết", "Unattainable as written"),
    "contradiction": ("Mâu thuẫn", "Contradiction"),
    "range": ("Khoảng không nhất quán", "Inconsistent range"),
}


def conflict_table(conflicts: pd.DataFrame, *, lang: str = "vi", top: int | None = 15) -> Readable:
    """The inconsistencies between targets (:func:`povanalysis.reports.prose.goals.conflict_messages`), one line each."""
    check_lang(lang)
    t = conflicts.drop_duplicates(["kind", "target"]).copy()
    t["kind_text"] = [pick(_CONFLICTS, k, lang) if k in _CONFLICTS else k for k in t["kind"]]
    cols = [
        _c("kind_text", "Loại", "Kind"),
        _c("year", "Năm", "Year", "code"),
        _c("message", "Nội dung", "What is wrong"),
    ]
    return readable(t, cols, lang=lang, top=top)


def _model_name(model: str, lang: str) -> str:
    from .prose.goals import model_label

    return model_label(model, lang)


def projection_table(projections: pd.DataFrame, *, lang: str = "vi") -> Readable:
    """Projected province rates by model and year, with their 90% prediction intervals."""
    check_lang(lang)
    t = projections.copy()
    t["model"] = [_model_name(g, lang) for g in t["group"]]
    cols = [
        _c("model", "Mô hình", "Model"),
        _c("year", "Năm", "Year", "code"),
        _c("mean", "Tỷ lệ hộ nghèo dự báo (%)", "Projected poor rate (%)", "percent", 2),
        _c("obs_ci_lower", "Cận dưới khoảng dự báo (%)", "Lower bound (%)", "percent", 2),
        _c("obs_ci_upper", "Cận trên khoảng dự báo (%)", "Upper bound (%)", "percent", 2),
        _c("standard", "Chuẩn nghèo", "Standard", "code"),
    ]
    return readable(t, cols, lang=lang)


def _target_label(targets: Mapping[str, Any], name: str, lang: str) -> str:
    t = targets.get(name)
    return t.label(lang) if t is not None else name


def p_meet_readable(table: pd.DataFrame, targets: Mapping[str, Any], *, lang: str = "vi") -> Readable:
    """The probability of meeting each group target in 2030 under each model (:func:`outlook.p_meet_table`)."""
    check_lang(lang)
    t = table.copy()
    t["target_label"] = [_target_label(targets, n, lang) for n in t["target"]]
    models = [c for c in t.columns if c not in ("target", "target_label")]
    cols = [_c("target_label", "Mục tiêu", "Target")]
    for m in models:
        name = _model_name(m, lang)
        cols.append(_c(m, f"Xác suất đạt: {name} (%)", f"Probability met: {name} (%)", "percent", 0))
    return readable(t, cols, lang=lang)


def p_meet_sentence(table: pd.DataFrame, targets: Mapping[str, Any], *, margin: float, lang: str = "vi") -> Markdown:
    """The targets whose probability of being met differs by more than ``margin`` between models, by their names.

    The figures of :func:`povanalysis.reports.prose.goals.p_meet_text`, each target named by
    its label in ``lang`` (not its code) and each model by its short name.
    """
    check_lang(lang)
    t = table.set_index("target")
    spread = t.max(axis=1) - t.min(axis=1)
    apart = spread[spread > margin].index.tolist()
    if not apart:
        return Markdown(title("targets.other", lang))
    parts = []
    for name in apart:
        values = ", ".join(
            f"{_model_name(m, lang)} {format_percent(t.loc[name, m], lang, digits=0)}"
            for m in t.columns
            if np.isfinite(t.loc[name, m])
        )
        parts.append(f"«{_target_label(targets, name, lang)}»: {values}")
    if lang == "vi":
        return Markdown(
            "Các mô hình cho xác suất đạt mục tiêu rất khác nhau — " + "; ".join(parts) + ". Xác suất phụ thuộc vào "
            "mô hình; con số trong báo cáo theo mô hình đã qua kiểm định."
        )
    return Markdown(
        "The models give very different probabilities of meeting — " + "; ".join(parts) + ". The probability "
        "depends on the model; the reports use the model that passed its backtest."
    )


def status_table(status: pd.DataFrame, targets: Mapping[str, Any], *, lang: str = "vi") -> Readable:
    """Each group target in its last year under the chosen model: levels, projection, probability, exits needed."""
    check_lang(lang)
    t = status[status["year"] == status["year"].max()].copy()
    t["target_label"] = [_target_label(targets, n, lang) for n in t["target"]]
    t["ci"] = [
        f"{format_percent(a, lang, digits=1)}–{format_percent(b, lang, digits=1)}"
        for a, b in zip(t["obs_ci_lower"], t["obs_ci_upper"])
    ]
    cols = [
        _c("target_label", "Mục tiêu", "Target"),
        _c("confirmed", "Đã xác nhận", "Confirmed", "yesno"),
        _c("start_level", "Mức xuất phát (%)", "Starting level (%)", "percent", 1),
        _c("target_level", "Mức mục tiêu (%)", "Target level (%)", "percent", 1),
        _c("mean", "Dự báo (%)", "Projected (%)", "percent", 1),
        _c("ci", "Khoảng dự báo", "Prediction interval"),
        _c("p_meet", "Xác suất đạt (%)", "Probability met (%)", "percent", 0),
        _c("exits_per_year", "Hộ cần thoát nghèo mỗi năm (hộ)", "Exits needed a year", "count"),
        _c("additional_exits", "Hộ cần thoát nghèo thêm so với dự báo (hộ)", "Exits beyond the projection", "count"),
    ]
    return readable(t, cols, lang=lang)


def _ranking_frame(ranking: pd.DataFrame, targets: Mapping[str, Any], lang: str) -> pd.DataFrame:
    t = ranking.copy()
    t["target_label"] = [_target_label(targets, n, lang) for n in t["target"]]
    hide = t["suppressed"].to_numpy(dtype=bool) if "suppressed" in t else np.zeros(len(t), bool)
    for col in ("start_level", "mean", "obs_ci_lower", "obs_ci_upper", "gap", "p_meet"):
        t[col] = t[col].mask(hide)
    return t


def ranking_table(
    ranking: pd.DataFrame, targets: Mapping[str, Any], *, lang: str = "vi", top: int | None = 15, full: bool = False
) -> Readable:
    """Communes ranked by their contribution to the province's gap in the last year (the first ``top`` on the page).

    ``full`` adds what the workbook has room for: whether the target is attainable
    or already met, the prediction interval, exits a year and the share of the province's gap.
    """
    check_lang(lang)
    t = _ranking_frame(ranking, targets, lang)
    cols = [
        _c("rank", "Hạng", "Rank", "count"),
        _c("commune_code", "Mã xã", "Code", "code"),
        _c("name", "Xã, phường", "Commune"),
        _c("target_label", "Mục tiêu áp dụng", "Target applied"),
        _c("start_level", "Tỷ lệ xuất phát (%)", "Starting rate (%)", "percent", 1),
        _c("target_level", "Mức mục tiêu (%)", "Target level (%)", "percent", 1),
        _c("mean", "Dự báo (%)", "Projected (%)", "percent", 1),
        _c("gap", "Khoảng cách (điểm %)", "Gap (points)", "points", 1, scale=100, sign=True),
        _c("p_meet", "Xác suất đạt (%)", "Probability met (%)", "percent", 0),
        _c("additional_exits", "Hộ cần thoát nghèo thêm (hộ)", "Extra exits needed", "count"),
        _c("credit_vnd", "Vốn tín dụng bổ sung (tỷ đồng)", "Additional credit (billion VND)", "money", 1, scale=1e-9),
    ]
    if full:
        cols[4:4] = [
            _c("attainable", "Có thể đạt", "Attainable", "yesno"),
            _c("already_met", "Đã đạt", "Already met", "yesno"),
        ]
        cols[9:9] = [
            _c("obs_ci_lower", "Cận dưới khoảng dự báo (%)", "Lower bound (%)", "percent", 1),
            _c("obs_ci_upper", "Cận trên khoảng dự báo (%)", "Upper bound (%)", "percent", 1),
        ]
        cols += [
            _c("exits_per_year", "Hộ cần thoát nghèo mỗi năm (hộ)", "Exits needed a year", "ratio", 1),
            _c("share_of_gap", "Phần trong khoảng cách của tỉnh (%)", "Share of the province's gap (%)", "percent", 1),
        ]
    return readable(t, cols, lang=lang, top=top)


# ----------------------------------------------------------------------------- 04 targeting


def eligible_table(eligible: pd.DataFrame, *, lang: str = "vi") -> Readable:
    """Households eligible for policy credit by programme at each review (counts under the limit hidden)."""
    check_lang(lang)
    t = eligible.groupby("review_year")[
        ["eligible_poor", "eligible_near_poor", "eligible_newly_escaped", "eligible"]
    ].sum()
    t = t.reset_index()
    for c in ("eligible_poor", "eligible_near_poor", "eligible_newly_escaped", "eligible"):
        t[c] = _small(t[c])
    cols = [
        _c("review_year", "Năm rà soát", "Review year", "code"),
        _c("eligible_poor", "Hộ nghèo (hộ)", "Poor (households)", "count"),
        _c("eligible_near_poor", "Hộ cận nghèo (hộ)", "Near-poor (households)", "count"),
        _c("eligible_newly_escaped", "Hộ mới thoát nghèo (hộ)", "Newly escaped (households)", "count"),
        _c("eligible", "Tổng số hộ đủ điều kiện (hộ)", "All eligible households", "count"),
    ]
    return readable(t, cols, lang=lang)


def _programme(value: str, lang: str) -> str:
    from .prose.targeting import term

    return term("all" if value == "all" else f"prog_{value}", lang)


def _protect_accuracy(t: pd.DataFrame, keys: list[str], totals: Mapping[str, Any], lang: str) -> pd.DataFrame:
    """The disclosure rule on a targeting-accuracy table, in two parts.

    Eligible households add up to those reached and those left out (coverage and exclusion
    rates rest on them); loans to ineligible households rest on the loans.  The number of
    loans is not published: with the households reached it would give the loans to the
    ineligible back (loans − reached).
    """

    def run(frame: pd.DataFrame, counts: list[str], den: str, rates: dict, parts: dict) -> pd.DataFrame:
        for tot in (totals, {}):
            try:
                layout = Layout(keys, counts, denominator=den, rates=rates, totals=tot, parts=parts)
                p = protect(frame, layout, rate_digits=1)
                break
            except ValueError:  # a suppressed part is missing: the total does not add up without it
                continue
        shown = p.display(lang)
        out = frame.copy()
        for c in (*layout.columns, *layout.rates):
            out[c] = p.values[c].astype(object).where(~p.hidden[c].to_numpy(), shown[c]).to_numpy()
        return out

    t = run(
        t,
        ["reached", "exclusion_errors"],
        "eligible",
        {"coverage": "reached", "exclusion_rate": "exclusion_errors"},
        {"eligible": ["reached", "exclusion_errors"]},
    )
    return run(t, ["inclusion_errors"], "loans", {"inclusion_share": "inclusion_errors"}, {})


def coverage_chart(
    table: pd.DataFrame, *, measure: str = "coverage", lang: str = "vi", min_cell: int | None = None
) -> go.Figure | Markdown:
    """The commune dots of :func:`povanalysis.figures.targeting.coverage_figure`, or a sentence when none is shown.

    When the disclosure rule hides the value of every commune (all programmes), an empty chart
    with an axis running to an arbitrary bound would say nothing: the page says so in words.

    Examples
    --------
    >>> t = pd.DataFrame({"loan_year": [2025], "commune_code": ["01840"], "minority": [True], "programme": ["all"],
    ...                   "inclusion_share": [np.nan], "suppressed": [True]})
    >>> coverage_chart(t, measure="inclusion_share", lang="en").data[:60]
    'Share of loans to ineligible households by commune (loans of'
    """
    from ..figures.targeting import coverage_figure
    from .prose.targeting import term

    check_lang(lang)
    rows = table[table["programme"] == "all"] if "programme" in table.columns else table
    if measure in rows.columns and "suppressed" in rows.columns and len(rows):
        shown = ~rows["suppressed"].to_numpy(dtype=bool) & rows[measure].notna().to_numpy()
        if not shown.any():
            limit = config.MIN_CELL if min_cell is None else int(min_cell)
            year = int(rows["loan_year"].iloc[0]) if "loan_year" in rows.columns else ""
            return Markdown(title("targeting.all_hidden", lang, what=term(measure, lang), year=year, n=limit))
    return coverage_figure(table, measure=measure, lang=lang)


def accuracy_table(accuracy: pd.DataFrame, *, by: str | None = None, lang: str = "vi") -> Readable:
    """Coverage, exclusion and inclusion errors by loan year (and programme, or ``by`` group), under the disclosure rule.

    Rows the package suppresses (too few eligible households or loans) are left out.
    """
    check_lang(lang)
    t = accuracy.copy()
    if by is not None:
        t = t[t["programme"] == "all"].copy()
    t = t[~t["suppressed"].to_numpy(dtype=bool)].reset_index(drop=True)
    for c in ("eligible", "reached", "exclusion_errors", "loans", "inclusion_errors"):
        t[c] = t[c].astype("int64")
    group = "minority" if by == "minority" else "programme"
    t = _protect_accuracy(t, ["loan_year", group], {} if by else {"programme": "all"}, lang)
    cols = [
        _c("loan_year", "Năm vay", "Loan year", "code"),
        _c("review_year", "Theo rà soát năm", "Review", "code"),
    ]
    if by == "minority":
        t["group"] = [label("minority" if v else "majority", lang) for v in t["minority"]]
        cols.append(_c("group", label("ethnicity", lang), label("ethnicity", lang)))
    else:
        t["programme_text"] = [_programme(p, lang) for p in t["programme"]]
        cols.append(_c("programme_text", "Chương trình", "Programme"))
    cols += [
        _c("eligible", "Hộ đủ điều kiện (hộ)", "Eligible households", "count"),
        _c("reached", "Đã được vay (hộ)", "Reached", "count"),
        _c("coverage", "Độ bao phủ (%)", "Coverage (%)", "percent", 1),
        _c("exclusion_errors", "Chưa được vay (hộ)", "Not reached", "count"),
        _c("exclusion_rate", "Bỏ sót (%)", "Exclusion (%)", "percent", 1),
        _c("inclusion_errors", "Khoản vay cho hộ không đủ điều kiện", "Loans to the ineligible", "count"),
        _c("inclusion_share", "Tỷ lệ đưa nhầm (%)", "Inclusion share (%)", "percent", 1),
    ]
    return readable(t, cols, lang=lang, note=_protect_note(lang))


def _mark(value: Any, lang: str, fmt) -> str:
    """A protected cell in a sentence: a figure formatted, a mark (``< 10``, ``< 20%``) in words."""
    if isinstance(value, str):
        if value.startswith("<"):
            return ("dưới " if lang == "vi" else "under ") + value[1:].strip()
        return value
    return fmt(value)


def accuracy_sentence(
    province: pd.DataFrame, minority: pd.DataFrame | None = None, *, year: int, lang: str = "vi"
) -> Markdown:
    """Coverage, exclusion and inclusion errors of one loan year in words, with the figures the tables publish.

    The figures are those of :func:`accuracy_table` under the disclosure rule: a count under
    the limit reads "dưới 10", its rate as its band, and the number of loans is left out
    when the loans to ineligible households are hidden (the loans minus the households
    reached would give them back).
    """
    check_lang(lang)
    t = province[~province["suppressed"].to_numpy(dtype=bool)].reset_index(drop=True)
    for c in ("eligible", "reached", "exclusion_errors", "loans", "inclusion_errors"):
        t[c] = t[c].astype("int64")
    t = _protect_accuracy(t, ["loan_year", "programme"], {"programme": "all"}, lang)
    rows = t[(t["loan_year"] == year) & (t["programme"] == "all")]
    if rows.empty:
        return Markdown(
            f"Số liệu năm {year} không công bố (dưới ngưỡng số hộ)."
            if lang == "vi"
            else f"The figures for {year} are not published (too few households)."
        )
    r = rows.iloc[0]

    def n(v: Any) -> str:
        return _mark(v, lang, lambda x: format_number(x, lang))

    def pc(v: Any) -> str:
        return _mark(v, lang, lambda x: format_percent(x, lang, digits=1))

    hidden_loans = isinstance(r["inclusion_errors"], str)
    if lang == "vi":
        text = (
            f"Trong {n(r['eligible'])} hộ đủ điều kiện theo kết quả rà soát năm {year - 1}, {n(r['reached'])} hộ "
            f"được vay vốn trong năm {year} (độ bao phủ {pc(r['coverage'])}); {n(r['exclusion_errors'])} hộ đủ điều "
            "kiện chưa được vay. "
            + (
                f"{n(r['inclusion_errors']).capitalize()} khoản vay ({pc(r['inclusion_share'])} số khoản vay) đến hộ "
                "không đủ điều kiện."
                if hidden_loans
                else f"{n(r['inclusion_errors'])} trong {n(r['loans'])} khoản vay ({pc(r['inclusion_share'])}) đến hộ "
                "không đủ điều kiện."
            )
        )
    else:
        text = (
            f"Of the {n(r['eligible'])} households eligible at the {year - 1} review, {n(r['reached'])} got a loan "
            f"in {year} (coverage {pc(r['coverage'])}); {n(r['exclusion_errors'])} eligible households were not "
            "reached. "
            + (
                f"{n(r['inclusion_errors']).capitalize()} loans ({pc(r['inclusion_share'])} of the loans) went to "
                "households that were not eligible."
                if hidden_loans
                else f"{n(r['inclusion_errors'])} of the {n(r['loans'])} loans ({pc(r['inclusion_share'])}) went to "
                "households that were not eligible."
            )
        )
    if minority is not None:
        m = minority[(minority["programme"] == "all") & ~minority["suppressed"].to_numpy(dtype=bool)]
        m = m.reset_index(drop=True)
        for c in ("eligible", "reached", "exclusion_errors", "loans", "inclusion_errors"):
            m[c] = m[c].astype("int64")
        m = _protect_accuracy(m, ["loan_year", "minority"], {}, lang)
        m = m[m["loan_year"] == year].set_index("minority")
        if set(m.index) == {True, False}:
            a, b = pc(m.loc[True, "coverage"]), pc(m.loc[False, "coverage"])
            text += (
                f" Độ bao phủ ở hộ dân tộc thiểu số là {a}, ở hộ dân tộc Kinh là {b}."
                if lang == "vi"
                else f" Coverage was {a} among ethnic-minority households and {b} among Kinh households."
            )
    return Markdown(text)


def at_risk_table(at_risk: pd.DataFrame, *, lang: str = "vi", top: int | None = 15) -> Readable:
    """Households at risk of falling back by commune, most expected fall-backs first, under the disclosure rule."""
    check_lang(lang)
    t = at_risk[~at_risk["suppressed"].to_numpy(dtype=bool)].copy()
    t = protected_counts(t, ["commune_code"], ["at_risk"], rates={"at_risk_rate": "at_risk"}, lang=lang, rate_digits=1)
    t = t.sort_values(["expected_fallbacks", "commune_code"], ascending=[False, True], kind="stable")
    t["name"] = t["commune_code"].map(names())
    cols = [
        _c("name", "Xã, phường", "Commune"),
        _c("households", "Hộ mới thoát nghèo được đánh giá (hộ)", "Newly escaped households scored", "count"),
        _c("at_risk", "Hộ có nguy cơ tái nghèo (hộ)", "Households at risk", "count"),
        _c("at_risk_rate", "Tỷ lệ có nguy cơ (%)", "Share at risk (%)", "percent", 1),
        _c("expected_fallbacks", "Số hộ tái nghèo kỳ vọng", "Expected fall-backs", "ratio", 1),
    ]
    return readable(t, cols, lang=lang, top=top, note=_protect_note(lang))


def _protect_note(lang: str) -> str:
    n = config.MIN_CELL
    if lang == "vi":
        return (
            f"< {n}: dưới {n} hộ. –: không công bố để không suy ra được số liệu khác. Tỷ lệ dạng «< 20%» là một "
            "khoảng, không phải giá trị."
        )
    return (
        f"< {n}: fewer than {n} households. –: not published so that no other figure can be worked out. A rate "
        "shown as «< 20%» is a range, not a value."
    )


def priority_table(index: pd.DataFrame, *, lang: str = "vi", top: int | None = 10, full: bool = False) -> Readable:
    """The communes' priority index and its parts, highest priority first, under the disclosure rule.

    ``full`` adds the commune code, its households and its households at risk (the workbook).
    """
    check_lang(lang)
    t = index.copy()
    t["minority"] = np.round(t["minority_share"].to_numpy(float) * t["households"].to_numpy(float)).astype(int)
    t = protected_counts(
        t,
        ["commune_code"],
        ["poor", "at_risk", "minority"],
        rates={"poor_rate": "poor", "at_risk_share": "at_risk", "minority_share": "minority"},
        lang=lang,
        rate_digits=1,
    )
    cols = [
        _c("rank", "Hạng", "Rank", "count"),
        _c("name", "Xã, phường", "Commune"),
        _c("poor_rate", "Tỷ lệ hộ nghèo (%)", "Poor rate (%)", "percent", 1),
        _c("fgt1", "Độ sâu nghèo FGT1", "Poverty gap FGT1", "ratio", 3),
        _c("poor", "Hộ nghèo (hộ)", "Poor households", "count"),
        _c("minority_share", "Tỷ lệ hộ DTTS (%)", "Ethnic-minority share (%)", "percent", 1),
        _c("at_risk_share", "Tỷ lệ hộ có nguy cơ tái nghèo (%)", "Share at risk (%)", "percent", 1),
        _c("index", "Chỉ số ưu tiên", "Priority index", "ratio", 3),
    ]
    if full:
        cols[1:1] = [_c("commune_code", "Mã xã", "Code", "code")]
        cols[3:3] = [_c("households", "Số hộ (hộ)", "Households", "count")]
        cols.insert(-1, _c("at_risk", "Hộ có nguy cơ tái nghèo (hộ)", "Households at risk", "count"))
    return readable(t, cols, lang=lang, top=top, note=_protect_note(lang))


def allocation_table(comparison: pd.DataFrame, *, lang: str = "vi") -> Readable:
    """The optimised and proportional allocations side by side (:func:`allocation.compare_allocations`)."""
    check_lang(lang)
    from .prose.targeting import term

    t = comparison.copy()
    t["method_text"] = [term(m, lang) for m in t["method"]]
    cols = [
        _c("method_text", "Phương án", "Allocation"),
        _c("expected_exits", "Hộ thoát nghèo kỳ vọng (hộ)", "Expected exits", "ratio", 1),
        _c("ci_lower", "Cận dưới 95%", "Lower 95%", "ratio", 1),
        _c("ci_upper", "Cận trên 95%", "Upper 95%", "ratio", 1),
        _c("loans", "Khoản vay", "Loans", "count"),
        _c("spent", "Vốn giải ngân (tỷ đồng)", "Spent (billion VND)", "money", 1, scale=1e-9),
        _c("unspent", "Vốn chưa dùng (tỷ đồng)", "Unspent (billion VND)", "money", 1, scale=1e-9),
        _c(
            "disadvantaged_share",
            "Phần cho xã đặc biệt khó khăn (%)",
            "Share to disadvantaged communes (%)",
            "percent",
            1,
        ),
    ]
    return readable(t, cols, lang=lang)


# ----------------------------------------------------------------------------- 05 small areas


def sae_text(demo: Any, *, review_year: int, lang: str = "vi") -> Markdown:
    """The sample and the errors of the direct estimates and of the EBLUPs against the census, in words."""
    check_lang(lang)
    table = demo.to_frame()
    sampled, n = int(table["sampled"].sum()), len(table)
    fit = demo.fit

    def d(v: float) -> str:
        return _vi_decimal(v, lang, 5)

    gain = format_percent(demo.gain, lang, digits=0)
    hh = format_number(len(demo.sample), lang)
    if lang == "vi":
        return Markdown(
            f"Mẫu khảo sát năm {review_year}: **{hh}** hộ ở **{sampled}** trên {n} xã, phường. So với giá trị thật "
            f"của tổng điều tra, sai số bình phương trung bình của ước lượng trực tiếp là {d(demo.mse_direct)}, "
            f"của EBLUP là {d(demo.mse_eblup)}: EBLUP giảm {gain}. Ở {n - sampled} xã, phường không có mẫu, ước "
            f"lượng tổng hợp có sai số {d(demo.mse_synthetic)}. Phương sai hiệu ứng xã (thang arcsin) "
            f"σ²ᵤ = {d(fit.sigma2_u)}, phương pháp {fit.method}."
        )
    return Markdown(
        f"Survey sample of {review_year}: **{hh}** households in **{sampled}** of {n} communes. Against the "
        f"census truth, the mean squared error of the direct estimates is {d(demo.mse_direct)} and that of the "
        f"EBLUPs {d(demo.mse_eblup)}: a reduction of {gain}. In the {n - sampled} communes without sample the "
        f"synthetic estimates have MSE {d(demo.mse_synthetic)}. Area-effect variance (arcsine scale) "
        f"σ²ᵤ = {d(fit.sigma2_u)}, method {fit.method}."
    )


def benchmark_text(province: Mapping[str, float], truth_rate: float, *, lang: str = "vi") -> Markdown:
    """The province rate estimated from the sample, its interval and the census truth, in words."""
    check_lang(lang)

    def p(v: float) -> str:
        return format_percent(v, lang, digits=2)

    est, lo, hi = province["estimate"], province["ci_lower"], province["ci_upper"]
    if lang == "vi":
        return Markdown(
            f"Tỷ lệ hộ nghèo toàn tỉnh ước lượng trực tiếp từ mẫu: {p(est)} (khoảng tin cậy 95%: {p(lo)}–{p(hi)}); "
            f"giá trị thật {p(truth_rate)}. Sau khi cân chỉnh, trung bình có trọng số của EBLUP bằng đúng tỷ lệ này."
        )
    return Markdown(
        f"Province poor-household rate estimated directly from the sample: {p(est)} (95% interval {p(lo)}–{p(hi)}); "
        f"census truth {p(truth_rate)}. After benchmarking, the household-weighted mean of the EBLUPs equals this rate."
    )


_DIAGNOSTICS = {
    "residuals": ("Phần dư chuẩn hóa", "Standardised residuals"),
    "random_effects": ("Hiệu ứng xã", "Area effects"),
}


def diagnostics_table(diagnostics: pd.DataFrame, *, lang: str = "vi") -> Readable:
    """Normality checks of the Fay–Herriot residuals and area effects (:meth:`FayHerriot.diagnostics`)."""
    check_lang(lang)
    t = diagnostics.rename_axis("part").reset_index()
    t["part"] = [pick(_DIAGNOSTICS, v, lang) if v in _DIAGNOSTICS else v for v in t["part"]]
    cols = [
        _c("part", "Thành phần", "Part"),
        _c("n", "Số xã có mẫu", "Sampled communes", "count"),
        _c("mean", "Trung bình", "Mean", "ratio", 3),
        _c("sd", "Độ lệch chuẩn", "Standard deviation", "ratio", 3),
        _c("skewness", "Độ lệch", "Skewness", "ratio", 3),
        _c("kurtosis", "Độ nhọn", "Kurtosis", "ratio", 3),
        _c("shapiro_w", "Shapiro–Wilk W", "Shapiro–Wilk W", "ratio", 3),
        _c("shapiro_p", "Giá trị p", "p-value", "ratio", 3),
    ]
    return readable(t, cols, lang=lang)


_COVARIATES = {
    "intercept": ("Hệ số chặn", "Intercept"),
    "share_minority": ("Tỷ lệ hộ dân tộc thiểu số", "Ethnic-minority share"),
    "share_urban": ("Tỷ lệ hộ thành thị", "Urban share"),
    "mean_size": ("Số nhân khẩu bình quân mỗi hộ", "Mean household size"),
    "mean_deprivations": ("Số chỉ số thiếu hụt bình quân", "Mean number of deprivations"),
}


def coefficient_table(fit: Any, *, lang: str = "vi") -> Readable:
    """The Fay–Herriot regression coefficients (arcsine scale), their standard errors, z and p-values."""
    check_lang(lang)
    from scipy.stats import norm

    coef, se = fit.coef.astype(float), fit.coef_se.reindex(fit.coef.index).astype(float)
    z = coef / se
    t = pd.DataFrame(
        {
            "name": [pick(_COVARIATES, k, lang) if k in _COVARIATES else k for k in coef.index],
            "coef": coef.to_numpy(),
            "se": se.to_numpy(),
            "z": z.to_numpy(),
            "p": 2 * norm.sf(np.abs(z.to_numpy())),
        }
    )
    cols = [
        _c("name", "Biến phụ trợ cấp xã", "Commune covariate"),
        _c("coef", "Hệ số (thang arcsin)", "Coefficient (arcsine scale)", "ratio", 3),
        _c("se", "Sai số chuẩn", "Standard error", "ratio", 3),
        _c("z", "z", "z", "ratio", 2),
        _c("p", "Giá trị p", "p-value", "ratio", 3),
    ]
    return readable(t, cols, lang=lang)


def sae_table(table: pd.DataFrame, *, lang: str = "vi", top: int | None = 15, full: bool = False) -> Readable:
    """Communes by EBLUP, highest first: truth, sample size, direct estimate, EBLUP, its CV and the benchmarked EBLUP.

    ``full`` adds the commune code (the workbook).
    """
    check_lang(lang)
    t = table.reset_index().sort_values("eblup", ascending=False, kind="stable")
    cols = [_c("commune_code", "Mã xã", "Code", "code")] if full else []
    cols += [
        _c("name", "Xã, phường", "Commune"),
        _c("truth", "Giá trị thật (%)", "Census truth (%)", "percent", 1),
        _c("n", "Số hộ trong mẫu (hộ)", "Sampled households", "count"),
        _c("direct", "Ước lượng trực tiếp (%)", "Direct estimate (%)", "percent", 1),
        _c("eblup", "EBLUP (%)", "EBLUP (%)", "percent", 1),
        _c("eblup_cv", "Hệ số biến thiên của EBLUP (%)", "EBLUP coefficient of variation (%)", "percent", 1),
    ]
    if "benchmarked" in t:
        cols.append(_c("benchmarked", "EBLUP cân chỉnh (%)", "Benchmarked EBLUP (%)", "percent", 1))
    note = (
        "–: xã không có trong mẫu, không có ước lượng trực tiếp."
        if lang == "vi"
        else "–: commune not sampled, no direct estimate."
    )
    return readable(t, cols, lang=lang, top=top, note=note)
