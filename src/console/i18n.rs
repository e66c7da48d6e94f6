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
    // Monitoring, model cards and retraining (console part B).
    ("monitoring", "Monitoring", "模型监控"),
    ("monitoring_intro", "Each product's champion month by month over the last twelve months: no PSI or CSI is computed for a month with fewer live scores than the minimum sample.", "各产品在用模型近十二个月的逐月监控：当月实时评分少于最小样本量时不计算 PSI 和 CSI。"),
    ("min_sample", "Minimum sample", "最小样本量"),
    ("no_champion_yet", "No champion: nothing is scored, so nothing is monitored.", "暂无在用模型：没有评分，也就没有监控。"),
    ("no_live_scores", "No live scores in the last twelve months.", "近十二个月没有实时评分。"),
    ("grade_mix", "Score distribution by month (share of live scores per grade)", "逐月评分分布（各等级占比）"),
    ("month", "Month", "月份"),
    ("observations", "Scores", "评分数"),
    ("stability", "Stability over time: score PSI and CSI per characteristic against the training sample", "稳定性：评分 PSI 及各特征 CSI（相对训练样本）"),
    ("score_psi", "Score PSI", "评分 PSI"),
    ("psi_guides", "Dashed lines: 0.10 (watch) and 0.25 (significant shift).", "虚线：0.10（关注）和 0.25（显著偏移）。"),
    ("watch", "watch", "关注"),
    ("alert", "significant shift", "显著偏移"),
    ("outcomes_by_grade", "Bad rate by grade (the champion's out-of-time loans, recorded at retraining)", "各等级坏账率（在用模型的跨时间验证贷款，训练时记录）"),
    ("no_outcomes", "No outcomes recorded for this model's grades.", "该模型各等级没有记录的贷款结果。"),
    ("loans", "Loans", "贷款数"),
    ("bads", "Bads", "坏样本数"),
    ("bad_rate", "Bad rate", "坏账率"),
    ("expected_pd", "Expected PD", "预期违约概率"),
    ("shadow", "Shadow comparison: the newest candidate scored beside the champion", "影子对比：最新候选模型与在用模型并行评分"),
    ("no_shadow", "No candidate is scored in the shadows.", "没有候选模型在影子中评分。"),
    ("no_shadow_scores", "The shadow candidate has not scored any request in the last twelve months.", "影子候选模型近十二个月没有评分。"),
    ("agreement", "Grade agreement", "等级一致率"),
    ("spearman", "Spearman", "Spearman 相关"),
    ("mean_difference", "Mean difference (candidate − champion)", "平均差（候选 − 在用）"),
    ("model_card", "Model card", "模型卡"),
    ("changed_from", "Characteristics changed from the champion", "相对在用模型变化的特征"),
    ("changed_characteristics", "Characteristics that changed", "变化的特征"),
    ("no_changes", "The same characteristics, bins and points as the champion.", "特征、分箱和分值与在用模型相同。"),
    ("characteristic", "Characteristic", "特征"),
    ("change", "Change", "变化"),
    ("coefficient", "Coefficient", "系数"),
    ("bins", "Bins", "分箱数"),
    ("change_added", "added", "新增"),
    ("change_removed", "removed", "移除"),
    ("change_rebinned", "bins changed", "分箱变化"),
    ("change_reweighted", "points changed", "分值变化"),
    ("retrain", "Retrain", "重新训练"),
    ("as_of", "As of", "数据截止日"),
    ("start_retrain", "Start retraining", "开始训练"),
    ("retrain_hint", "The retraining runs in the background (one per product at a time); its page follows it and shows the new candidate, which is registered, not promoted.", "训练在后台进行（每个产品同时只能有一个）；其页面会跟踪进度并显示新的候选模型（只登记，不上线）。"),
    ("retrain_runs", "Retraining runs", "训练记录"),
    ("started", "Started", "开始时间"),
    ("running", "running", "进行中"),
    ("finished", "finished", "已完成"),
    ("failed", "failed", "失败"),
    ("abandoned", "abandoned (the process running it stopped)", "已中断（运行进程已停止）"),
    ("new_candidate", "New candidate", "新候选模型"),
    ("why", "Why", "原因"),
    ("refreshes", "This page refreshes itself every few seconds until the run ends.", "本页每隔几秒自动刷新，直到训练结束。"),
    ("retrain_bad_product", "Product: choose sme or farmer.", "产品：请选择 sme 或 farmer。"),
    ("retrain_bad_date", "As of: a date as YYYY-MM-DD.", "数据截止日：请按 YYYY-MM-DD 填写日期。"),
    ("retrain_future_date", "As of: a date no later than today.", "数据截止日：不能晚于今天。"),
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
