package demo

// categoryText is what the census lists for a risk category: how a point of it is
// named (after its nearest road), its typical causes, control measures and
// responsible departments. One is chosen per point by the generator.
type categoryText struct {
	code     string
	weight   float64 // share of the non-void risk points
	terrain  string  // "hills" draws locations from the hill density, else built-up
	place    []string
	causes   []string
	measures []string
	depts    []string
	// grades are the weights of low, general, significant, major.
	grades [4]float64
}

func categoryTexts() []categoryText {
	return []categoryText{
		{code: "fire", weight: 15,
			place:    []string{"沿街商铺", "城中村出租屋", "农贸市场", "小餐饮场所", "仓储点"},
			causes:   []string{"电气线路老化私拉乱接", "消防通道被占用", "可燃物堆放", "疏散通道不畅"},
			measures: []string{"更换老化线路并定期巡查", "清理通道并设置禁停标识", "配置灭火器和烟感报警器", "开展消防安全培训"},
			depts:    []string{"罗湖区消防救援大队", "街道办事处", "区应急管理局"},
			grades:   [4]float64{55, 35, 8, 2}},
		{code: "high_rise_fire", weight: 8,
			place:    []string{"高层住宅", "商业综合体", "写字楼"},
			causes:   []string{"自动消防设施故障", "消防水源不足", "外墙保温材料可燃"},
			measures: []string{"维保单位限期修复消防设施", "落实消防控制室24小时值班", "开展高层建筑消防安全体检"},
			depts:    []string{"罗湖区消防救援大队", "区住房和建设局"},
			grades:   [4]float64{35, 40, 20, 5}},
		{code: "small_works", weight: 12,
			place:    []string{"小散工程", "零星作业点", "装修工地"},
			causes:   []string{"高处作业未系安全带", "临时用电不规范", "未纳入小散工程管控系统"},
			measures: []string{"纳入小散工程安全风险管控系统", "落实作业前安全交底", "街道巡查发现即整改"},
			depts:    []string{"街道办事处", "区住房和建设局"},
			grades:   [4]float64{60, 32, 7, 1}},
		{code: "construction", weight: 7,
			place:    []string{"在建工地", "危大工程", "基坑"},
			causes:   []string{"深基坑支护变形", "塔吊违规作业", "高支模施工方案未论证"},
			measures: []string{"第三方监测基坑变形", "专项施工方案专家论证", "每日安全巡查"},
			depts:    []string{"区住房和建设局", "区建筑工务署"},
			grades:   [4]float64{25, 45, 22, 8}},
		{code: "gas", weight: 11,
			place:    []string{"燃气管线", "瓶装燃气供应点", "餐饮燃气用户"},
			causes:   []string{"管线老化腐蚀", "违规使用瓶装液化气", "燃气报警装置缺失"},
			measures: []string{"管道更新改造", "安装燃气泄漏报警及切断装置", "瓶改管"},
			depts:    []string{"区住房和建设局", "街道办事处"},
			grades:   [4]float64{45, 40, 12, 3}},
		{code: "elevator", weight: 9,
			place:    []string{"老旧住宅电梯", "商场扶梯", "医院电梯"},
			causes:   []string{"使用年限超过15年", "维保不到位", "困人故障频发"},
			measures: []string{"安装智能梯控系统", "督促维保单位按期维保", "老旧电梯更新改造"},
			depts:    []string{"区市场监督管理局", "街道办事处"},
			grades:   [4]float64{60, 33, 6, 1}},
		{code: "ev_charging", weight: 8,
			place:    []string{"电动自行车集中充电点", "新能源汽车充电站", "城中村楼道"},
			causes:   []string{"电动自行车入户充电", "充电设施无过载保护", "充电区域无消防设施"},
			measures: []string{"推广e换电柜", "设置集中充电区并配置消防设施", "开展入户充电整治"},
			depts:    []string{"区应急管理局", "罗湖区消防救援大队", "街道办事处"},
			grades:   [4]float64{50, 38, 10, 2}},
		{code: "falling_object", weight: 7,
			place:    []string{"老旧建筑外立面", "户外广告牌", "阳台花架"},
			causes:   []string{"外墙饰面空鼓脱落", "广告牌锈蚀松动", "台风期间悬挂物未加固"},
			measures: []string{"外立面安全排查与修缮", "拆除或加固广告牌", "台风前专项巡查"},
			depts:    []string{"区城市管理和综合执法局", "街道办事处"},
			grades:   [4]float64{55, 35, 8, 2}},
		{code: "road_traffic", weight: 6,
			place:    []string{"交叉路口", "学校周边路段", "长下坡路段"},
			causes:   []string{"机非混行", "视距不良", "行人过街设施不足"},
			measures: []string{"实施机非分离改造", "增设智慧斑马线", "优化信号配时"},
			depts:    []string{"罗湖交警大队", "区交通运输局"},
			grades:   [4]float64{45, 40, 12, 3}},
		{code: "hazardous_chemicals", weight: 3,
			place:    []string{"加油站", "危险化学品经营单位", "实验室"},
			causes:   []string{"储存超量", "无证经营危险化学品", "应急预案未演练"},
			measures: []string{"核定储存量并张贴告知卡", "依法查处无证经营", "每半年开展应急演练"},
			depts:    []string{"区应急管理局"},
			grades:   [4]float64{20, 40, 28, 12}},
		{code: "flooding", weight: 4,
			place:    []string{"低洼地段", "地下车库入口", "城中村巷道"},
			causes:   []string{"排水管网标准偏低", "地势低洼", "雨水口堵塞"},
			measures: []string{"管网提标改造", "设置挡水板和沙袋", "汛前清疏雨水口"},
			depts:    []string{"区水务局", "街道办事处"},
			grades:   [4]float64{40, 40, 15, 5}},
		{code: "landslide", weight: 5, terrain: "hills",
			place:    []string{"山体", "切坡建房点", "挡土墙"},
			causes:   []string{"强降雨诱发坡体滑移", "切坡建房坡脚开挖", "挡土墙排水不畅"},
			measures: []string{"设置截排水沟", "安装AI+物联网监测设备", "汛期人员转移预案"},
			depts:    []string{"区规划和自然资源局", "区应急管理局", "街道办事处"},
			grades:   [4]float64{30, 40, 22, 8}},
		{code: "other", weight: 2,
			place:    []string{"人员密集场所", "公园", "地下空间"},
			causes:   []string{"应急疏散标识缺失", "安全管理制度不健全"},
			measures: []string{"完善应急疏散标识", "落实安全管理责任人"},
			depts:    []string{"街道办事处", "区应急管理局"},
			grades:   [4]float64{65, 28, 6, 1}},
	}
}

// voidTexts is the census text of a ground void found by radar under a road.
func voidTexts() categoryText {
	return categoryText{code: "ground_void",
		causes:   []string{"地质雷达探测发现路面下脱空", "地下管线渗漏掏空路基", "地下空洞疑似由旧管沟塌陷形成"},
		measures: []string{"注浆回填并修复路面", "设置围挡限行并复测", "排查渗漏管线后回填"},
		depts:    []string{"区住房和建设局", "区城市管理和综合执法局", "区水务局"},
		grades:   [4]float64{10, 35, 40, 15}}
}
