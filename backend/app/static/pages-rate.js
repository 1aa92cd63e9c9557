// 好差评: rate a concluded application (or pick one). A 差评 (1 or 2) asks why and opens a
// rectification task in the backend, which the citizen is told about.

import { api, go, CONCLUDED } from "./api.js";

const { ref, computed, onMounted } = Vue;

const LEVELS = { 5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意" };
const BAD_REASONS = ["办理时间过长", "服务态度不好", "材料要求不清楚", "多次跑动", "系统操作不便", "结果不满意"];

export const Rate = {
  props: ["params", "query"],
  template: `
    <div class="rate">
      <template v-if="done">
        <div class="done-box">
          <van-icon name="checked" size="64" color="#1a7f37"></van-icon>
          <h2 data-test="rated">评价成功，感谢您的反馈</h2>
          <p>您的评价：{{ done.level_name }}</p>
          <p v-if="done.rectification_opened" class="rectify" data-test="rectification">
            您的差评已转交相关部门整改，整改结果将通过“我的消息”告知您。
          </p>
          <van-button round type="primary" @click="home">返回首页</van-button>
        </div>
      </template>
      <template v-else-if="query.application">
        <van-cell-group inset title="评价对象">
          <van-cell :title="target ? target.item_name : '办件'" :label="'申请编号：' + query.application"></van-cell>
        </van-cell-group>
        <div class="stars">
          <van-rate v-model="level" :size="36" gutter="10" color="#ffb800" void-color="#c8c9cc"></van-rate>
          <div class="level-name">{{ levelName }}</div>
        </div>
        <van-cell-group inset v-if="level && level <= 2" title="请告诉我们哪里做得不好（可多选）">
          <van-checkbox-group v-model="reasons" class="reasons">
            <van-checkbox v-for="r in badReasons" :key="r" :name="r" shape="square">{{ r }}</van-checkbox>
          </van-checkbox-group>
        </van-cell-group>
        <van-cell-group inset title="意见建议">
          <van-field v-model="comment" type="textarea" rows="3" maxlength="500" show-word-limit
                     placeholder="选填：您的意见将帮助我们改进服务"></van-field>
        </van-cell-group>
        <p v-if="error" class="error-text" role="alert">{{ error }}</p>
        <div class="action-bar">
          <van-button round block type="primary" size="large" :loading="busy" @click="submit">提交评价</van-button>
        </div>
      </template>
      <template v-else>
        <p class="hint">请选择要评价的办件：</p>
        <van-empty v-if="loaded && !choices.length" description="暂无可评价的已办结办件"></van-empty>
        <van-cell-group inset>
          <van-cell v-for="a in choices" :key="a.id" :title="a.item_name" :label="a.receipt_no"
                    :value="a.state_name" is-link @click="pick(a)"></van-cell>
        </van-cell-group>
      </template>
    </div>`,
  setup(props) {
    const level = ref(0);
    const reasons = ref([]);
    const comment = ref("");
    const error = ref("");
    const busy = ref(false);
    const done = ref(null);
    const target = ref(null);
    const choices = ref([]);
    const loaded = ref(false);

    onMounted(async () => {
      try {
        if (props.query.application) {
          target.value = await api("/api/v1/citizen/applications/" + encodeURIComponent(props.query.application), {
            auth: true,
          });
        } else {
          const page = await api("/api/v1/citizen/applications", { auth: true, query: { limit: 50 } });
          choices.value = page.items.filter((a) => CONCLUDED.includes(a.state));
        }
      } catch (err) {
        error.value = err.message;
      } finally {
        loaded.value = true;
      }
    });

    async function submit() {
      error.value = "";
      if (!level.value) return (error.value = "请先点亮星星打分");
      if (level.value <= 2 && !reasons.value.length && !comment.value.trim())
        return (error.value = "请选择不满意的原因或填写意见，便于我们整改");
      busy.value = true;
      try {
        done.value = await api("/api/v1/citizen/ratings", {
          method: "POST",
          auth: true,
          body: {
            level: level.value,
            application: props.query.application,
            reasons: level.value <= 2 ? reasons.value : [],
            comment: comment.value.trim() || null,
          },
        });
      } catch (err) {
        error.value = err.message;
      } finally {
        busy.value = false;
      }
    }

    return {
      level,
      reasons,
      comment,
      error,
      busy,
      done,
      target,
      choices,
      loaded,
      badReasons: BAD_REASONS,
      levelName: computed(() => LEVELS[level.value] || "请点击星星评分"),
      submit,
      pick: (a) => go("/rate?application=" + a.receipt_no),
      home: () => go("/"),
    };
  },
};
