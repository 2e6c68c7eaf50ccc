package trigger

import (
	"testing"
	"time"
)

func TestDescribeInChinese(t *testing.T) {
	for _, c := range []struct {
		d       Dialect
		src, zh string
	}{
		{Crontab, "0 9 * * 1-5", "在 09:00，周一至周五"},
		{Crontab, "*/5 * * * *", "每 5 分钟"},
		{Quartz, "0 15 10 ? * 6L", "在 10:15，每月最后一个周五"},
		{Crontab, "0 */2 * * *", "整点，每 2 小时"},
		{Crontab, "15 9-17 * * *", "每小时第 15 分钟，09:00 至 17:59 之间"},
		{Quartz, "0 0 12 ? * 2#3", "在 12:00，每月第三个周一"},
		{Crontab, "0 0 1 1,6 *", "在 00:00，每月 1 日，在1月和6月"},
		{Crontab, "0 0 13 * 5", "在 00:00，每月 13 日或周五"},
	} {
		cron, err := ParseCron(c.d, c.src, CronOptions{Location: time.UTC})
		if err != nil {
			t.Fatal(err)
		}
		if got := DescribeIn(cron, "zh-CN"); got != c.zh {
			t.Errorf("%s in Chinese = %q, want %q", c.src, got, c.zh)
		}
		if got, want := DescribeIn(cron, "en"), cron.Describe(); got != want {
			t.Errorf("%s in English = %q, want Describe's %q", c.src, got, want)
		}
		if got := DescribeIn(cron, "fr"); got != cron.Describe() {
			t.Errorf("%s in French falls back to %q, want English", c.src, got)
		}
	}
	s, _ := ParseSpec([]byte(`{"type": "calendar", "months": 1, "hour": 9, "start_date": "2026-01-31"}`))
	tr, _ := s.Build()
	if got := DescribeIn(tr, "zh"); got != "在 09:00，每个月的31 日（没有这一天的月份取最后一天）" {
		t.Errorf("calendar in Chinese = %q", got)
	}
	// More calendars of days in TestDescribeDayCalendar.
	tr, _ = CronExpr("0 9 * * 1-5", OnCalendar("cn-holidays", ExcludeHolidays)).Build()
	if got := DescribeIn(tr, "zh"); got != "在 09:00，周一至周五，日历 cn-holidays 的节假日除外" {
		t.Errorf("holiday calendar in Chinese = %q", got)
	}
}
