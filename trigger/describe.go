package trigger

import (
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Languages are the languages schedules can be described in (see
// DescribeIn): English and Simplified Chinese.
var Languages = []string{"en", "zh"}

// phrasebook holds one language's words and sentence patterns. Patterns are
// fmt formats; their arguments are in the order the English reads.
type phrasebook struct {
	weekdays, months                     []string // Sunday first; months from index 1
	and, or, through, sep, listSep       string
	at, every, everySeconds, everyMinute string
	everySecond, everyNMinutes           string
	everyHourOnTheHour, minutesPastEvery string
	onTheHour, minutesPast               string
	lowerEverySecond, lowerEveryNSeconds string
	atSecond, ofEveryMinute, atMinute    string
	lowerEveryNMinutes, everyNHours      string
	betweenHours, duringHours, hour2     string
	inMonths, inYears, yearRange         string
	yearStep, ordinals                   string
	domOrDow, domIfDow, isoWeek          string
	onDay, onDays, lastDay, beforeLast   string
	nearestWeekday, lastWeekday          string
	onWeekdays, onNth, onLastWeekday     string
	everyDuration, from, once            string
	jitter, allAgree, anyFires           string
	never, until                         string
	calEvery, calEveryN, calWeek, calDay string
	calYearDay, calSkip, calLast         string
	units                                map[CalendarUnit][2]string // singular, plural
	dayRules                             map[DayRule][2]string      // of a named calendar, of listed dates
	calDates                             [2]string                  // an unnamed calendar's size: singular, plural
	capitalize                           bool
}

var english = &phrasebook{
	weekdays: weekdayNames[:], months: monthDisplay[:],
	and: " and ", or: " or ", through: "%s through %s", sep: ", ", listSep: ", ",
	at: "At %s", every: "Every %s", everySecond: "Every second", everySeconds: "Every %d seconds",
	everyMinute: "Every minute", everyNMinutes: "Every %d minutes",
	everyHourOnTheHour: "Every hour, on the hour", minutesPastEvery: "At %d minutes past every hour",
	onTheHour: "On the hour, %s", minutesPast: "At %d minutes past the hour, %s",
	lowerEverySecond: "every second", lowerEveryNSeconds: "every %d seconds", atSecond: "at second %s",
	ofEveryMinute: "of every minute", lowerEveryNMinutes: "every %d minutes", atMinute: "at minute %s",
	everyNHours: "every %d hours", betweenHours: "between %02d:00 and %02d:59", duringHours: "during hours %s", hour2: "%02d",
	inMonths: "in %s", inYears: "in %s", yearRange: "%d through %d", yearStep: "every %d years from %d through %d",
	ordinals: "first second third fourth fifth",
	domOrDow: "%s or %s", domIfDow: "%s, if it is %s", isoWeek: "in ISO week %s",
	onDay: "on day %s of the month", onDays: "on days %s of the month", lastDay: "on the last day of the month",
	beforeLast: "%d days before the last day of the month", nearestWeekday: "on the weekday nearest day %d of the month",
	lastWeekday: "on the last weekday of the month", onWeekdays: "on %s", onNth: "on the %s %s of the month",
	onLastWeekday: "on the last %s of the month",
	everyDuration: "Every %s", from: ", from %s", once: "Once, at %s", jitter: "%s, delayed by up to %s",
	allAgree: "When all agree: %s", anyFires: "Whenever any fires: %s",
	never: "Never by itself: when started by another job or by hand", until: ", until %s",
	calEvery: "every %s", calEveryN: "every %d %s", calWeek: "%s, %s on %s", calDay: "day %d", calYearDay: "%s %d",
	calSkip: " (skipped where that day does not exist)", calLast: " (the last day where that day does not exist)",
	units: map[CalendarUnit][2]string{Years: {"year", "years"}, Months: {"month", "months"}, Weeks: {"week", "weeks"}, Days: {"day", "days"}},
	dayRules: map[DayRule][2]string{
		ExcludeHolidays: {"except the holidays of calendar %s", "except holidays (%s)"},
		OnlyHolidays:    {"only on the dates of calendar %s", "only on the listed dates (%s)"},
		Workdays:        {"on workdays of calendar %s", "on workdays (%s)"},
		RestDays:        {"on rest days of calendar %s", "on rest days (%s)"},
	},
	calDates:   [2]string{"calendar of %d date", "calendar of %d dates"},
	capitalize: true,
}

var chinese = &phrasebook{
	weekdays: []string{"周日", "周一", "周二", "周三", "周四", "周五", "周六"},
	months:   []string{"", "1月", "2月", "3月", "4月", "5月", "6月", "7月", "8月", "9月", "10月", "11月", "12月"},
	and:      "和", or: "或", through: "%s至%s", sep: "，", listSep: "、",
	at: "在 %s", every: "每 %s", everySecond: "每秒", everySeconds: "每 %d 秒",
	everyMinute: "每分钟", everyNMinutes: "每 %d 分钟",
	everyHourOnTheHour: "每小时整点", minutesPastEvery: "每小时第 %d 分钟",
	onTheHour: "整点，%s", minutesPast: "每小时第 %d 分钟，%s",
	lowerEverySecond: "每秒", lowerEveryNSeconds: "每 %d 秒", atSecond: "第 %s 秒",
	ofEveryMinute: "每分钟", lowerEveryNMinutes: "每 %d 分钟", atMinute: "第 %s 分钟",
	everyNHours: "每 %d 小时", betweenHours: "%02d:00 至 %02d:59 之间", duringHours: "在 %s 时", hour2: "%02d",
	inMonths: "在%s", inYears: "在 %s 年", yearRange: "%d 至 %d", yearStep: "%[2]d 至 %[3]d 年间每 %[1]d 年",
	ordinals: "第一个 第二个 第三个 第四个 第五个",
	domOrDow: "%s或%s", domIfDow: "%s，且当天是%s", isoWeek: "在 ISO 第 %s 周",
	onDay: "每月 %s 日", onDays: "每月 %s 日", lastDay: "每月最后一天",
	beforeLast: "每月最后一天之前 %d 天", nearestWeekday: "每月离 %d 日最近的工作日",
	lastWeekday: "每月最后一个工作日", onWeekdays: "%s", onNth: "每月%s%s",
	onLastWeekday: "每月最后一个%s",
	everyDuration: "每 %s", from: "，从 %s 起", once: "一次，在 %s", jitter: "%s，随机延迟最多 %s",
	allAgree: "同时满足：%s", anyFires: "任一触发：%s",
	never: "不自行触发：由其他任务或手动启动", until: "，至 %s 止",
	calEvery: "每%s", calEveryN: "每 %d %s", calWeek: "%s，%s的%s", calDay: "%d 日", calYearDay: "%s%d 日",
	calSkip: "（没有这一天的月份跳过）", calLast: "（没有这一天的月份取最后一天）",
	units: map[CalendarUnit][2]string{Years: {"年", "年"}, Months: {"个月", "个月"}, Weeks: {"周", "周"}, Days: {"天", "天"}},
	dayRules: map[DayRule][2]string{
		ExcludeHolidays: {"日历 %s 的节假日除外", "节假日除外（%s）"},
		OnlyHolidays:    {"仅在日历 %s 所列日期", "仅在所列日期（%s）"},
		Workdays:        {"日历 %s 的工作日", "工作日（%s）"},
		RestDays:        {"日历 %s 的休息日", "休息日（%s）"},
	},
	calDates: [2]string{"日历共 %d 天", "日历共 %d 天"},
}

func phrasesFor(lang string) *phrasebook {
	if strings.HasPrefix(strings.ToLower(lang), "zh") {
		return chinese
	}
	return english
}

// Describe returns a plain-English description of the schedule, such as
// "At 09:00, Monday through Friday".
func (c *Cron) Describe() string { return c.describe(english) }

func (c *Cron) describe(p *phrasebook) string {
	if c.every > 0 {
		return fmt.Sprintf(p.every, c.every.String())
	}
	parts := []string{c.describeTime(p)}
	if day := c.describeDays(p); day != "" {
		parts = append(parts, day)
	}
	if c.month != fullSet(1, 12) {
		parts = append(parts, fmt.Sprintf(p.inMonths, p.joinRuns(values(c.month), func(m int) string { return p.months[m] })))
	}
	if c.years != nil {
		var ys []string
		for _, r := range c.years {
			switch {
			case r.lo == r.hi:
				ys = append(ys, strconv.Itoa(r.lo))
			case r.step == 1:
				ys = append(ys, fmt.Sprintf(p.yearRange, r.lo, r.hi))
			default:
				ys = append(ys, fmt.Sprintf(p.yearStep, r.step, r.lo, r.hi))
			}
		}
		parts = append(parts, fmt.Sprintf(p.inYears, p.joinAnd(ys)))
	}
	return strings.Join(parts, p.sep)
}

func values(set uint64) []int {
	var out []int
	for s := set; s != 0; s &= s - 1 {
		out = append(out, bits.TrailingZeros64(s))
	}
	return out
}

func clock(h, m, s int) string {
	if s != 0 {
		return fmt.Sprintf("%02d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%02d:%02d", h, m)
}

func (c *Cron) describeTime(p *phrasebook) string {
	sec, min, hour := values(c.second), values(c.minute), values(c.hour)
	allSec, allMin, allHour := c.second == fullSet(0, 59), c.minute == fullSet(0, 59), c.hour == fullSet(0, 23)
	secStep, secEvery := starStep(c.second, 0, 59)
	minStep, minEvery := starStep(c.minute, 0, 59)
	oneSec, oneMin := len(sec) == 1, len(min) == 1

	// Fixed times of day: "At 09:00" or "At 09:00, 12:00 and 18:30".
	if oneSec && oneMin && len(hour) <= 4 {
		times := make([]string, len(hour))
		for i, h := range hour {
			times[i] = clock(h, min[0], sec[0])
		}
		return fmt.Sprintf(p.at, p.joinAnd(times))
	}
	hourRange := ""
	if !allHour {
		hourRange = p.describeHours(c.hour, hour)
	}
	with := func(s string) string {
		if hourRange == "" {
			return s
		}
		return s + p.sep + hourRange
	}
	onTheMinute := oneSec && sec[0] == 0
	switch {
	case allSec && allMin:
		return with(p.everySecond)
	case secEvery && allMin:
		return with(fmt.Sprintf(p.everySeconds, secStep))
	case onTheMinute && allMin:
		return with(p.everyMinute)
	case onTheMinute && minEvery:
		return with(fmt.Sprintf(p.everyNMinutes, minStep))
	case onTheMinute && oneMin && allHour:
		if min[0] == 0 {
			return p.everyHourOnTheHour
		}
		return fmt.Sprintf(p.minutesPastEvery, min[0])
	case onTheMinute && oneMin && min[0] == 0:
		return fmt.Sprintf(p.onTheHour, hourRange)
	case onTheMinute && oneMin:
		return fmt.Sprintf(p.minutesPast, min[0], hourRange)
	}
	var parts []string
	switch {
	case allSec:
		parts = append(parts, p.lowerEverySecond)
	case secEvery:
		parts = append(parts, fmt.Sprintf(p.lowerEveryNSeconds, secStep))
	case !onTheMinute:
		parts = append(parts, fmt.Sprintf(p.atSecond, p.joinRuns(sec, strconv.Itoa)))
	}
	switch {
	case allMin:
		parts = append(parts, p.ofEveryMinute)
	case minEvery:
		parts = append(parts, fmt.Sprintf(p.lowerEveryNMinutes, minStep))
	default:
		parts = append(parts, fmt.Sprintf(p.atMinute, p.joinRuns(min, strconv.Itoa)))
	}
	if hourRange != "" {
		parts = append(parts, hourRange)
	}
	out := strings.Join(parts, p.sep)
	if p.capitalize {
		out = strings.ToUpper(out[:1]) + out[1:]
	}
	return out
}

func (p *phrasebook) describeHours(set uint64, hours []int) string {
	if step, ok := starStep(set, 0, 23); ok {
		return fmt.Sprintf(p.everyNHours, step)
	}
	if hours[len(hours)-1]-hours[0] == len(hours)-1 {
		return fmt.Sprintf(p.betweenHours, hours[0], hours[len(hours)-1])
	}
	return fmt.Sprintf(p.duringHours, p.joinRuns(hours, func(h int) string { return fmt.Sprintf(p.hour2, h) }))
}

func (c *Cron) describeDays(p *phrasebook) string {
	var dom, dow string
	if !c.domAny {
		dom = p.describeDomSide(&c.dom)
	}
	if !c.dowAny {
		dow = p.describeDowSide(&c.dow)
	}
	var out string
	switch {
	case dom != "" && dow != "" && c.dayOr:
		out = fmt.Sprintf(p.domOrDow, dom, dow)
	case dom != "" && dow != "":
		out = fmt.Sprintf(p.domIfDow, dom, strings.TrimPrefix(dow, "on "))
	default:
		out = dom + dow
	}
	if c.weeks != 0 {
		w := fmt.Sprintf(p.isoWeek, p.joinRuns(values(c.weeks), strconv.Itoa))
		if out != "" {
			return out + p.sep + w
		}
		return w
	}
	return out
}

func (p *phrasebook) describeDomSide(r *dayRules) string {
	var parts []string
	if r.days != 0 {
		days := values(uint64(r.days))
		f := p.onDay
		if len(days) > 1 {
			f = p.onDays
		}
		parts = append(parts, fmt.Sprintf(f, p.joinRuns(days, strconv.Itoa)))
	}
	for _, n := range values(uint64(r.lastOffsets)) {
		if n == 0 {
			parts = append(parts, p.lastDay)
		} else {
			parts = append(parts, fmt.Sprintf(p.beforeLast, n))
		}
	}
	for _, d := range values(uint64(r.nearest)) {
		parts = append(parts, fmt.Sprintf(p.nearestWeekday, d))
	}
	if r.lastWeekday {
		parts = append(parts, p.lastWeekday)
	}
	parts = append(parts, p.describePositions(r)...)
	return p.joinOr(parts)
}

func (p *phrasebook) describeDowSide(r *dayRules) string {
	var parts []string
	if r.weekdays != 0 {
		// Weeks read Monday first: rotate Sunday to the end for the runs.
		var days []int
		for _, w := range values(uint64(r.weekdays)) {
			days = append(days, (w+6)%7)
		}
		slices.Sort(days)
		name := func(i int) string { return p.weekdays[(i+1)%7] }
		text := p.joinRuns(days, name)
		if len(days) == 1 || !p.hasRun(text) {
			text = fmt.Sprintf(p.onWeekdays, text)
		}
		parts = append(parts, text)
	}
	parts = append(parts, p.describePositions(r)...)
	return p.joinOr(parts)
}

// hasRun reports whether text holds a run such as "Monday through Friday".
func (p *phrasebook) hasRun(text string) bool {
	word := strings.TrimSpace(strings.ReplaceAll(p.through, "%s", ""))
	return strings.Contains(text, word)
}

func (p *phrasebook) describePositions(r *dayRules) []string {
	ordinals := strings.Fields(p.ordinals)
	var out []string
	for n := range r.nth {
		for _, w := range values(uint64(r.nth[n])) {
			out = append(out, fmt.Sprintf(p.onNth, ordinals[n], p.weekdays[w]))
		}
	}
	for _, w := range values(uint64(r.lastOf)) {
		out = append(out, fmt.Sprintf(p.onLastWeekday, p.weekdays[w]))
	}
	return out
}

// joinRuns lists sorted values, runs of three or more as "a through b".
func (p *phrasebook) joinRuns(vals []int, name func(int) string) string {
	var parts []string
	for i := 0; i < len(vals); {
		j := i
		for j+1 < len(vals) && vals[j+1] == vals[j]+1 {
			j++
		}
		if j-i >= 2 {
			parts = append(parts, fmt.Sprintf(p.through, name(vals[i]), name(vals[j])))
			i = j + 1
			continue
		}
		parts = append(parts, name(vals[i]))
		i++
	}
	return p.joinAnd(parts)
}

func (p *phrasebook) joinAnd(parts []string) string { return p.joinWith(parts, p.and) }

func (p *phrasebook) joinOr(parts []string) string { return p.joinWith(parts, p.or) }

func (p *phrasebook) joinWith(parts []string, last string) string {
	switch len(parts) {
	case 0:
		return ""
	case 1:
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], p.listSep) + last + parts[len(parts)-1]
}

// Describe returns a plain-English description of a trigger built by this
// package, for people; other triggers are described by their Go type.
func Describe(t Trigger) string { return english.describe(t) }

// DescribeIn is Describe in a language: "en", or "zh" (and any "zh-…") for
// Simplified Chinese. Other languages get English.
func DescribeIn(t Trigger, lang string) string { return phrasesFor(lang).describe(t) }

func (p *phrasebook) describe(t Trigger) string {
	switch t := t.(type) {
	case *Cron:
		return t.describe(p)
	case Interval:
		s := fmt.Sprintf(p.everyDuration, t.Every.String())
		if !t.Start.IsZero() {
			s += fmt.Sprintf(p.from, t.Start.Format(time.RFC3339))
		}
		return s
	case Date:
		return fmt.Sprintf(p.once, t.At.Format(time.RFC3339))
	case *Calendar:
		return t.describe(p)
	case Jitter:
		return fmt.Sprintf(p.jitter, p.describe(t.Trigger), t.Max.String())
	case And:
		return fmt.Sprintf(p.allAgree, p.describeEach(t))
	case Or:
		return fmt.Sprintf(p.anyFires, p.describeEach(t))
	case Never:
		return p.never
	case *DayFilter:
		return p.describe(t.Trigger) + p.sep + p.describeDays(&t.days)
	case Bounded:
		s := p.describe(t.Trigger)
		if !t.Start.IsZero() {
			s += fmt.Sprintf(p.from, t.Start.Format(time.RFC3339))
		}
		if !t.End.IsZero() {
			s += fmt.Sprintf(p.until, t.End.Format(time.RFC3339))
		}
		return s
	}
	return fmt.Sprintf("%T", t)
}

// describeDays names a calendar by its name, or an unnamed one by the
// number of dates its rule reads.
func (p *phrasebook) describeDays(c *compiledDays) string {
	rule := c.rule
	if rule == "" { // a DayFilter written as a literal
		rule = ExcludeHolidays
	}
	phrases := p.dayRules[rule]
	if c.name != "" {
		return fmt.Sprintf(phrases[0], c.name)
	}
	n := len(c.holidays)
	if rule == Workdays || rule == RestDays {
		n = len(slices.Compact(slices.Sorted(slices.Values(slices.Concat(c.holidays, c.working)))))
	}
	size := p.calDates[1]
	if n == 1 {
		size = p.calDates[0]
	}
	return fmt.Sprintf(phrases[1], fmt.Sprintf(size, n))
}

func (p *phrasebook) describeEach(ts []Trigger) string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = "(" + p.describe(t) + ")"
	}
	return strings.Join(parts, "; ")
}

// Describe returns a plain-English description, such as "At 09:00, every
// month on day 31 (the last day in shorter months)".
func (c *Calendar) Describe() string { return c.describe(english) }

func (c *Calendar) describe(p *phrasebook) string {
	at := fmt.Sprintf(p.at, clock(c.hour, c.min, c.sec))
	unit := p.units[c.unit]
	every := fmt.Sprintf(p.calEvery, unit[0])
	if c.every > 1 {
		every = fmt.Sprintf(p.calEveryN, c.every, unit[1])
	}
	switch c.unit {
	case Weeks:
		wd := weekdayFromDays(c.anchorDays)
		return fmt.Sprintf(p.calWeek, at, every, p.weekdays[wd])
	case Months, Years:
		day := fmt.Sprintf(p.calDay, c.ad)
		if c.unit == Years {
			day = fmt.Sprintf(p.calYearDay, p.months[c.am], c.ad)
		}
		s := fmt.Sprintf(p.calWeek, at, every, day)
		if c.ad > 28 {
			if c.missing == SkipMonth {
				s += p.calSkip
			} else {
				s += p.calLast
			}
		}
		return s
	}
	return at + p.sep + every
}
