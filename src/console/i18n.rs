//! The console's words in English and Chinese. One table, looked up by a stable key; a key
//! missing from it shows as itself (a test holds every key used in the pages to the table).

use crate::users::Lang;

/// (key, English, 中文)
const WORDS: &[(&str, &str, &str)] = &[
    ("app", "creditbridge console", "信用桥 控制台"),
    ("overview", "Overview", "概览"),
    ("subjects", "Subjects", "主体查询"),
    ("models", "Models", "模型"),
    ("feeds", "Feeds", "数据报送"),
    ("partners", "Partners", "合作机构"),
    ("audit", "Audit", "审计"),
    ("sign_in", "Sign in", "登录"),
    ("sign_out", "Sign out", "退出"),
    ("name", "Name", "用户名"),
    ("password", "Password", "密码"),
    ("login_failed", "Wrong name or password. After five failures in a row an account is locked for a while.", "用户名或密码错误。连续失败五次后账户将被暂时锁定。"),
    ("session_expired", "Your session has ended. Sign in again to continue.", "会话已过期，请重新登录。"),
    ("switch_lang", "中文", "English"),
    ("role", "Role", "角色"),
    ("operator", "operator", "操作员"),
    ("analyst", "analyst", "风险分析师"),
    ("auditor", "auditor", "审计员"),
    ("forbidden", "Your role may not do this.", "您的角色无权执行此操作。"),
    ("csrf", "This form has expired or did not come from the console. Reload the page and try again.", "表单已失效或并非来自控制台，请刷新页面后重试。"),
    ("not_found", "Not found.", "未找到。"),
    ("internal", "Something went wrong on the server; it has been logged.", "服务器出错，已记录日志。"),
    ("freshness", "Feed freshness", "数据新鲜度"),
    ("kind", "Kind", "类型"),
    ("last_batch", "Last batch", "最近批次"),
    ("rows", "Rows", "行数"),
    ("age_days", "Age (days)", "距今（天）"),
    ("cadence_days", "Expected every (days)", "应报送周期（天）"),
    ("status", "Status", "状态"),
    ("late", "late", "逾期"),
    ("on_time", "on time", "正常"),
    ("never", "never received", "从未收到"),
    ("scores_per_day", "Scores delivered per partner per day (last 14 days)", "各机构每日评分量（近14天）"),
    ("partner", "Partner", "机构"),
    ("day", "Day", "日期"),
    ("scores", "Scores", "评分次数"),
    ("champions", "Champions", "在用模型"),
    ("product", "Product", "产品"),
    ("champion", "Champion", "在用模型"),
    ("age", "Age", "已使用"),
    ("drift", "Drift", "漂移"),
    ("none", "none", "无"),
    ("nothing_yet", "Nothing yet.", "暂无数据。"),
    ("lookup", "Look up", "查询"),
    ("subject_id", "Credit code or resident id", "统一社会信用代码或居民身份证号"),
    ("subject_rule", "Enter an 18-character unified social credit code, or an 18-digit resident identity number whose last character may be X. What was entered is neither: check its length and its last (check) character.", "请输入18位统一社会信用代码，或18位居民身份证号（最后一位可为X）。所输入内容两者皆不符：请检查长度和最后一位校验码。"),
    ("consents", "Consents", "授权"),
    ("purpose", "Purpose", "用途"),
    ("valid_until", "Valid until", "有效期至"),
    ("revoked", "revoked", "已撤销"),
    ("history", "Query history", "查询记录"),
    ("when", "When", "时间"),
    ("who", "Who", "查询方"),
    ("outcome", "Outcome", "结果"),
    ("score", "Score", "评分"),
    ("grade", "Grade", "等级"),
    ("flags", "Current flags", "当前标记"),
    ("disputes", "Disputes", "异议"),
    ("dispute", "Dispute", "提出异议"),
    ("note", "Note", "说明"),
    ("open", "open", "处理中"),
    ("resolved", "resolved", "已处理"),
    ("resolve", "Resolve", "处理完毕"),
    ("resolution", "Resolution", "处理结果"),
    ("disputed", "disputed", "有异议"),
    ("print_report", "Print the subject's report", "打印主体报告"),
    ("report_title", "Query history report", "查询记录报告"),
    ("event", "Event", "事件"),
    ("registry", "Registry", "模型登记"),
    ("candidate", "Candidate", "候选模型"),
    ("created", "Created", "创建时间"),
    ("oot_auc", "Out-of-time AUC (95% interval)", "跨时AUC（95%区间）"),
    ("oot_ks", "Out-of-time KS", "跨时KS"),
    ("psi", "PSI train vs out-of-time", "训练/跨时PSI"),
    ("gates", "Gates", "上线门槛"),
    ("promote", "Promote", "上线"),
    ("force", "Past failed gates (needs a second analyst's approval)", "强制上线（需另一位分析师批准）"),
    ("reason", "Reason", "理由"),
    ("approve", "Approve", "批准"),
    ("awaiting", "Awaiting approval", "待批准"),
    ("requested_by", "Requested by", "申请人"),
    ("rollback", "Roll back to the previous champion", "回退到上一个在用模型"),
    ("champion_history", "Champion history", "在用模型历史"),
    ("by", "By", "操作人"),
    ("batches", "Batches", "批次"),
    ("source", "Source", "来源"),
    ("received", "Received", "接收时间"),
    ("format", "Format", "格式"),
    ("add_partner", "Add a partner", "新增合作机构"),
    ("add", "Add", "新增"),
    ("revoke", "Revoke", "撤销"),
    ("key_once", "The new key, shown once only: copy it now.", "新密钥仅显示一次，请立即复制。"),
    ("active", "active", "有效"),
    ("verify", "Verify the audit trail", "校验审计链"),
    ("verified_ok", "The chain verifies", "审计链校验通过"),
    ("verified_bad", "The chain is broken", "审计链校验失败"),
    ("rows_checked", "rows checked", "已校验行数"),
    ("find_event", "Look up an event by id", "按编号查找事件"),
    ("done", "Done.", "已完成。"),
    ("gates_passed", "passes", "通过"),
    ("gates_failed", "fails", "未通过"),
    ("rate_limit", "Rate limit", "限流"),
    ("per_minute", "per minute (per replica)", "次/分钟（每个实例）"),
    ("last_activity", "Last activity", "最近活动"),
    ("no_activity", "no activity yet", "尚无活动"),
    ("key", "Key", "密钥"),
    ("retire_at", "Stops at (end of overlap)", "停用时间（过渡期结束）"),
    ("revoked_at", "Revoked at", "撤销时间"),
    ("in_force", "in force", "有效"),
    ("retiring", "in force until its overlap ends", "过渡期内有效"),
    ("retired", "retired by a rotation", "已因轮换停用"),
    ("revoke_key", "Revoke this key", "撤销此密钥"),
    ("revoke_partner", "Revoke the partner", "撤销该机构"),
    ("rotate_key", "Rotate key", "轮换密钥"),
    ("overlap_minutes", "Old keys keep working for (minutes)", "旧密钥继续有效（分钟）"),
    ("withdraw", "Record withdrawal", "登记撤回"),
    ("withdrawn", "withdrawn", "已撤回"),
    ("expired", "expired", "已过期"),
    ("withdrawal_evidence", "SHA-256 of the written withdrawal", "书面撤回材料的SHA-256"),
    ("no_ledger_key", "This process has no audit log key configured (ledger.signing_key_file): it cannot verify.", "本进程未配置审计日志密钥（ledger.signing_key_file），无法校验。"),
    ("last_verification", "Last verification", "最近一次校验"),
    ("never_verified", "never run", "从未校验"),
    ("checkpoints", "Signed checkpoints", "已签名检查点"),
    ("tree_size", "Entries (tree size)", "条目数（树大小）"),
    ("root_hash", "Root hash", "根哈希"),
    ("signed_at", "Signed at", "签名时间"),
    ("export", "Export a range of entries", "导出一段审计条目"),
    ("export_rule", "JSON Lines, one entry a line, from (included) to (excluded): by time (UTC) or by leaf index; at most 10,000 entries.", "JSON Lines 格式，每行一条，从“起”（含）到“止”（不含）：按时间（UTC）或按叶序号；最多10,000条。"),
    ("by_time", "by time", "按时间"),
    ("by_index", "by leaf index", "按叶序号"),
    ("from", "From", "起"),
    ("to", "To", "止"),
    ("download", "Download", "下载"),
    ("line", "Line", "行"),
    ("column", "Column", "列"),
    ("problem", "Problem", "问题"),
    ("errors", "Errors", "错误"),
    ("warnings", "Warnings", "警告"),
    ("upload", "Upload a file", "上传文件"),
    ("upload_refused", "The file was refused, nothing stored.", "文件被拒收，未存储任何数据。"),
    ("refused_batches", "Refused files (last 30 days)", "被拒收的文件（近30天）"),
    ("download_refused_rows", "Download the refused rows (CSV, identity numbers masked)", "下载被拒收的行（CSV，证件号已脱敏）"),
    ("ledger", "Audit ledger", "审计链"),
    ("checkpoint_age", "Newest checkpoint", "最新检查点"),
    ("no_checkpoint", "no signed checkpoint yet", "尚无已签名检查点"),
    ("minutes_ago", "minutes ago", "分钟前"),
];

/// The words for `key` in `lang`.
pub fn t(lang: Lang, key: &'static str) -> &'static str {
    WORDS
        .iter()
        .find(|(k, _, _)| *k == key)
        .map_or(key, |(_, en, zh)| match lang {
            Lang::En => en,
            Lang::Zh => zh,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `t(…, "key")` in the console's sources has its row in the table.
    #[test]
    fn every_key_used_is_in_the_table() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/console");
        let mut missing = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            for part in text.split("t(lang, \"").skip(1) {
                let key = &part[..part.find('"').unwrap()];
                if !WORDS.iter().any(|(k, _, _)| *k == key) {
                    missing.push(key.to_owned());
                }
            }
        }
        assert!(missing.is_empty(), "keys without words: {missing:?}");
        let mut keys: Vec<_> = WORDS.iter().map(|w| w.0).collect();
        keys.sort_unstable();
        let n = keys.len();
        keys.dedup();
        assert_eq!(n, keys.len(), "a key appears twice");
    }
}
