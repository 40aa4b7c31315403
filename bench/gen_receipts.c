/*
 * gen_receipts — writes N valid, varied receipts as JSON lines, for the
 * benchmark and the end-to-end tests.  Deterministic for a given seed.
 *
 *   gen_receipts N [SEED] [PREFIX]     (receipt numbers PREFIX-000001 …)
 *
 * Resident ID numbers get a real birth date and the GB 11643 check
 * character; USCCs the GB 32100 check character.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t state;

static uint32_t
rnd(uint32_t n)
{
	/* xorshift64*: enough for varied test data */
	state ^= state >> 12;
	state ^= state << 25;
	state ^= state >> 27;
	return (uint32_t)((state * 2685821657736338717ULL) >> 33) % n;
}

static void
idno(char out[19])
{
	static const int w[17] = { 7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2 };
	static const char chk[] = "10X98765432";
	static const char *const areas[] = { "110105", "440524", "310101", "510104", "350102" };
	int sum = 0;

	snprintf(out, 19, "%s%04u%02u%02u%03u", areas[rnd(5)], 1940 + rnd(66), 1 + rnd(12),
		1 + rnd(28), rnd(1000));
	for (int i = 0; i < 17; i++)
		sum += (out[i] - '0') * w[i];
	out[17] = chk[sum % 11];
	out[18] = '\0';
}

static void
uscc(char out[19])
{
	static const char alpha[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
	static const int w[17] = { 1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28 };
	int sum = 0;

	snprintf(out, 19, "913501%02u", rnd(100));
	for (int i = 8; i < 17; i++)
		out[i] = alpha[rnd(31)];
	for (int i = 0; i < 17; i++)
		sum += (int)(strchr(alpha, out[i]) - alpha) * w[i];
	out[17] = alpha[(31 - sum % 31) % 31];
	out[18] = '\0';
}

int
main(int argc, char **argv)
{
	static const char *const surnames[] = { "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴" };
	static const char *const given[] = { "芳", "伟", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟" };
	static const char *const channels[] = { "window", "phone", "web", "sms", "self_service" };
	static const char *const services[] = { "registration", "contribution", "benefit", "consultation", "archive_use", "complaint" };
	static const char *const insurances[] = { "pension", "medical", "work_injury", "unemployment", "maternity" };
	static const char *const topics[] = { "养老保险参保登记", "医疗保险缴费基数核定", "失业保险金申领",
		"工伤认定材料补正", "生育津贴支付", "退休待遇核准", "个人权益记录查询", "社保卡挂失补办",
		"pension transfer request", "contribution arrears notice" };
	long n = argc > 1 ? atol(argv[1]) : 10;
	const char *prefix = argc > 3 ? argv[3] : "R-2026";

	state = argc > 2 ? strtoull(argv[2], NULL, 10) * 0x9E3779B97F4A7C15ULL + 1 : 88172645463325252ULL;
	for (long i = 1; i <= n; i++) {
		char id[19], amount[32] = "";
		int svc = (int)rnd(6), org = rnd(10) == 0;
		/* receipts arrive roughly in the order they are issued: spread the
		 * N receipts over 2026 in order, with some jitter */
		long t = (long)((long long)(i - 1) * (330LL * 86400) / n) + (long)rnd(3600);
		unsigned month = 1 + (unsigned)(t / (28 * 86400)) % 12, day = 1 + (unsigned)(t / 86400) % 28;
		unsigned hour = 8 + (unsigned)(t / 3600) % 9, minute = (unsigned)(t / 60) % 60, sec = (unsigned)t % 60;

		if (svc == 1 || svc == 2)
			snprintf(amount, sizeof(amount), ",\"amount\":\"%u.%02u\"", rnd(20000), rnd(100));
		if (org)
			uscc(id);
		else
			idno(id);
		printf("{\"type\":\"receipt\",\"receipt_no\":\"%s-%06ld\",\"issued_at\":"
			"\"2026-%02u-%02uT%02u:%02u:%02u+08:00\",\"agency\":\"%s\",\"channel\":\"%s\","
			"\"service\":\"%s\",\"insurance\":\"%s\",\"subject\":{\"kind\":\"%s\",\"%s\":\"%s\","
			"\"name\":\"%s%s\"},\"operator\":\"op-%03u\",\"summary\":\"%s，办结编号%ld\"%s}\n",
			prefix, i, month, day, hour, minute, sec, rnd(2) ? "110105" : "440524",
			channels[rnd(5)], services[svc], insurances[rnd(5)], org ? "org" : "person",
			org ? "uscc" : "id_no", id, surnames[rnd(10)], org ? "氏实业有限公司" : given[rnd(15)],
			rnd(40), topics[rnd(10)], i, amount);
	}
	return 0;
}
