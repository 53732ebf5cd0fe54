//! What every page Rollcall writes shares: escaping text into HTML, and the printable
//! house style (inline CSS, so a page needs nothing fetched from elsewhere).

/// `text` escaped for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The stylesheet of the Senate report, the equality release and the subject-access page.
pub const STYLE: &str = "body{font-family:Georgia,'Times New Roman',serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a;line-height:1.45}\
h1{font-size:1.7rem;border-bottom:2px solid #1d3557;padding-bottom:.4rem}h2{font-size:1.25rem;color:#1d3557;margin-top:2rem}\
table{border-collapse:collapse;margin:.8rem 0 1.2rem;font-size:.92rem}th,td{border:1px solid #c8c8c8;padding:.25rem .6rem;text-align:left}\
th{background:#eef2f7}td.num{text-align:right;font-variant-numeric:tabular-nums}svg{max-width:100%;height:auto}\
.note{font-size:.85rem;color:#444;border-top:1px solid #ccc;margin-top:2rem;padding-top:.6rem}\
@media print{body{margin:0;max-width:none}section{break-inside:avoid}h2{break-after:avoid}}";
